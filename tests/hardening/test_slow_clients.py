"""Clients that send slowly, stop halfway, or send a body in an encoding it is not in, against a
real ``pilu serve`` (2 workers, a queue of 4) with raw sockets on loopback.

The server of this module allows 20 uploads per key (so that all 20 stalled uploads stay open
and the render slots are what is tested) and a body deadline of 4 s (so that the 408 is seen
quickly); a second check uses the default bound of 4 per key.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hardening.support import (
    KEY_ALL,
    KEY_XIAOKANG,
    Server,
    auth,
    dumps,
    example,
    http,
    small_example,
)

pytestmark = pytest.mark.slow

STALLED = 20
BODY_TIMEOUT_S = 4.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("slow-clients"),
        env={
            "PILU_WORKERS": "2",
            "PILU_QUEUE_LIMIT": "4",
            "PILU_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            "PILU_UPLOADS_PER_KEY": str(STALLED),
        },
    ).start()
    try:
        yield server
    finally:
        assert server.stop() == 0, server.logs()[-3000:]


def stalled_upload(server: Server, key: str, path: str = "/v1/render?format=pdf") -> socket.socket:
    """A connection that sent its headers and 100 bytes of a 1 MB body, then nothing."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"company": {' + b" " * 87)
    return sock


def answer_of(sock: socket.socket, timeout: float) -> tuple[int, bytes, float]:
    """The status code, the answer read until the server closes, and when its first byte came
    (``time.monotonic``)."""
    sock.settimeout(timeout)
    data, first = b"", 0.0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        first = first or time.monotonic()
        data += chunk
    return int(data.split(b" ", 2)[1]), data, first


def render_seconds(server: Server) -> float:
    started = time.perf_counter()
    status, _, body = http(
        "POST", f"{server.url}/v1/render?format=pdf", dumps(small_example()), auth(KEY_ALL)
    )
    assert status == 200, body[:500]
    return time.perf_counter() - started


def test_stalled_uploads_hold_no_render_slot_and_get_408(server: Server) -> None:
    render_seconds(server)  # both workers warm, fonts cached
    normal = min(render_seconds(server) for _ in range(2))
    sockets = [stalled_upload(server, KEY_XIAOKANG) for _ in range(STALLED)]
    opened = time.monotonic()
    try:
        time.sleep(0.5)  # every stalled request is inside the service
        during = [render_seconds(server) for _ in range(3)]
        print(f"\nrender alone {normal:.3f} s; beside {STALLED} stalled uploads {during}")
        assert max(during) < normal + 1.0, (normal, during)
        answers = [answer_of(sock, timeout=BODY_TIMEOUT_S + 20) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert {status for status, _, _ in answers} == {408}, answers[0]
    assert b'"code": "request_timeout"' in answers[0][1]
    assert b"Connection: close" in answers[0][1]
    waited = max(first for _, _, first in answers) - opened
    print(f"408 after {waited:.2f} s (deadline {BODY_TIMEOUT_S} s)")
    assert BODY_TIMEOUT_S - 0.5 < waited < BODY_TIMEOUT_S + 2, waited


def test_uploads_past_the_bound_of_a_key_get_429_at_once(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"PILU_WORKERS": "1", "PILU_BODY_TIMEOUT_S": "30"}).start()
    sockets = [stalled_upload(server, KEY_XIAOKANG) for _ in range(4)]
    try:
        time.sleep(0.3)
        started = time.perf_counter()
        status, headers, body = http(
            "POST", f"{server.url}/v1/render", dumps(example()), auth(KEY_XIAOKANG)
        )
        refused_in = time.perf_counter() - started
        assert status == 429 and headers["Retry-After"], body
        assert json.loads(body)["error"]["code"] == "too_many_uploads"
        assert refused_in < 0.5, refused_in
        # another key is not held back by this one's uploads
        status, _, body = http("POST", f"{server.url}/v1/validate", dumps(example()), auth(KEY_ALL))
        assert status == 200, body[:300]
    finally:
        for sock in sockets:
            sock.close()
        assert server.stop() == 0, server.logs()[-3000:]


def test_a_body_not_in_its_declared_encoding_is_400_malformed_body(server: Server) -> None:
    offset = len(server.logs())
    body = dumps(small_example())
    headers = {**auth(KEY_ALL), "Content-Encoding": "gzip"}
    status, _, answer = http("POST", f"{server.url}/v1/render", body, headers)
    assert status == 400, answer[:300]
    error = json.loads(answer)["error"]
    assert error["code"] == "malformed_body" and error["details"]["content_encoding"] == "gzip"
    time.sleep(0.2)
    assert "Traceback" not in server.logs()[offset:]


def test_a_client_that_hangs_up_mid_body_is_an_info_line_not_a_500(server: Server) -> None:
    offset = len(server.logs())
    for _ in range(3):
        sock = stalled_upload(server, KEY_ALL, "/v1/validate")
        time.sleep(0.2)
        sock.close()
    time.sleep(0.5)
    new = server.logs()[offset:]
    assert "Traceback" not in new, new[-2000:]
    entries = [json.loads(line) for line in new.splitlines() if line.startswith("{")]
    gone = [e for e in entries if e["message"] == "client disconnected"]
    assert len(gone) == 3 and {e["level"] for e in gone} == {"info"}, entries
    access = [e for e in entries if e["message"] == "request" and e["route"] == "/v1/validate"]
    assert {e["status"] for e in access} == {499}, access
    _, _, metrics = http("GET", f"{server.url}/metrics")
    lines = metrics.decode().splitlines()
    assert not [ln for ln in lines if 'route="/v1/validate"' in ln and 'status="500"' in ln]
    assert [ln for ln in lines if 'route="/v1/validate"' in ln and 'status="499"' in ln]
