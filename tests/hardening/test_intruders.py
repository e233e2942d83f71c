"""Intruders at the doors of rendering (``/v1/render``, ``/v1/validate``): another company's
key, oversized requests, header injection through the file name, key comparison; and keys (and
webhook secrets) in the log for every door, the archive, batches and console sign-in included.
The archive, batch and console doors have their own module: ``test_archive_intruders.py``.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Any

import pytest
from pydantic import SecretStr

from service.api import auth as auth_module
from service.api.auth import KeyRing
from service.settings import ApiKey
from tests.hardening.support import (
    KEY_ALL,
    KEY_OTHER,
    KEY_XIAOKANG,
    KEYS,
    ROOT,
    Server,
    auth,
    dumps,
    http,
    small_example,
)

pytestmark = pytest.mark.slow

INTRUDER_KEY = "intruder-key-Zq8WmR4tYc2Lx9Pv"
"""An unknown key the tests send; it must not reach the log either."""


# --- another company's key --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/render?format=pdf", "/v1/render?format=zip", "/v1/validate"])
@pytest.mark.parametrize(
    ("key", "company"),
    [
        (KEY_OTHER, "xiaokang-life"),
        (KEY_XIAOKANG, "other-insurer"),
        (KEY_XIAOKANG, "kangning-property"),
    ],
)
def test_another_companys_key_gets_403_and_never_a_document(
    real_server: Server, path: str, key: str, company: str
) -> None:
    document = small_example()
    document["company"]["id"] = company
    status, headers, body = http("POST", f"{real_server.url}{path}", dumps(document), auth(key))
    assert status == 403, body[:300]
    assert headers["Content-Type"].startswith("application/json")
    assert "Content-Disposition" not in headers
    error = json.loads(body)["error"]
    assert (error["code"], error["details"]) == ("forbidden", {"company_id": company})


@pytest.mark.parametrize(
    "body",
    [
        # duplicate keys: the access check and the render must read the same company (the last)
        b'{"company": {"id": "other-insurer"}, "company": {"id": "xiaokang-life"}}',
        b'{"company": {"id": "other-insurer", "id": "xiaokang-life"}}',
        # an escaped hyphen is the same id
        b'{"company": {"id": "xiaokang\\u002dlife"}}',
    ],
)
def test_tricks_with_the_company_id_do_not_pass_the_check(real_server: Server, body: bytes) -> None:
    status, _, answer = http("POST", f"{real_server.url}/v1/validate", body, auth(KEY_OTHER))
    assert status == 403, answer[:300]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Bearer {INTRUDER_KEY}"},
        {"Authorization": f"Basic {KEY_ALL}"},
        {"Authorization": f"Bearer {KEY_ALL[:-1]}"},
        {"Authorization": f"Bearer {KEY_ALL}x"},
        {"Authorization": "Bearer ", "X-API-Key": KEY_ALL},
        {"Authorization": f"Bearer {INTRUDER_KEY}", "X-API-Key": KEY_ALL},
        {"X-API-Key": INTRUDER_KEY},
    ],
)
def test_no_key_or_a_wrong_one_gets_401(real_server: Server, headers: dict[str, str]) -> None:
    status, answer_headers, body = http(
        "POST", f"{real_server.url}/v1/render", dumps(small_example()), headers
    )
    assert status == 401, body[:200]
    assert json.loads(body)["error"]["code"] == "unauthorized"
    assert "Bearer" in answer_headers.get("WWW-Authenticate", "")


# --- oversized requests -----------------------------------------------------------------------


def raw_exchange(server: Server, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are; the start of whatever comes back (b"" if the peer just closed)."""
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        chunks = b""
        try:
            while len(chunks) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                chunks += chunk
                if b"\r\n\r\n" in chunks:  # the status line and headers are what we judge
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return chunks


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(500))
        + b"\r\n",
        b"GET /healthz?" + b"q" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + b"k" * 100_000
        + b"\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n"
        b"Authorization: Bearer " + KEY_ALL.encode() + b"\r\n\r\n{",
    ],
    ids=["100-kB-header", "500-headers", "100-kB-url", "100-kB-key", "huge-content-length"],
)
def test_oversized_requests_get_a_4xx(real_server: Server, request_bytes: bytes) -> None:
    answer = raw_exchange(real_server, request_bytes)
    status_line = answer.split(b"\r\n", 1)[0]
    match = re.match(rb"HTTP/1\.[01] (\d{3})", status_line)
    assert match, f"no HTTP answer: {answer[:200]!r}"
    assert 400 <= int(match.group(1)) < 500, status_line
    status, _, _ = http("GET", f"{real_server.url}/healthz")
    assert status == 200


# --- the download's file name -----------------------------------------------------------------

DISPOSITION = re.compile(
    r"attachment; filename=\"[A-Za-z0-9._-]+\"; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+"
)


@pytest.mark.parametrize(
    "short_name",
    [
        "小康\r\nSet-Cookie: pwn=1",
        '小康"; filename="evil.exe',
        "小康; attachment; filename*=UTF-8''evil.exe",
        "../../../../tmp/小康",
        "小康\\..\\..\\windows",
        "小康\tX-Injected: 1",
    ],
)
def test_the_file_name_cannot_inject_headers_or_paths(real_server: Server, short_name: str) -> None:
    document = small_example()
    document["company"]["short_name"] = short_name
    document["title"] = short_name.replace("\\", "/")
    raw = dumps(document)
    status, headers, body = http("POST", f"{real_server.url}/v1/render?format=zip", raw, auth())
    assert status == 200, body[:300]
    dispositions = [v for k, v in headers.items() if k.lower() == "content-disposition"]
    assert len(dispositions) == 1 and DISPOSITION.fullmatch(dispositions[0]), dispositions
    assert not [k for k in headers if k.lower() in ("set-cookie", "x-injected")]
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            assert not re.search(r'[/\\\r\n\t"]', name) and not name.startswith("."), name


def test_the_cli_writes_inside_out_whatever_the_short_name(tmp_path: Any) -> None:
    document = small_example()
    document["company"]["short_name"] = "../../escaped"
    source = tmp_path / "payload.json"
    source.write_bytes(dumps(document))
    out = tmp_path / "a" / "b" / "out"
    run = subprocess.run(
        [sys.executable, "-m", "service.cli", "render", str(source),
         "--out", str(out), "--format", "docx"],
        check=False, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    written = [p for p in tmp_path.rglob("*.docx")]
    assert written and all(p.parent == out for p in written), written


# --- keys and logs ----------------------------------------------------------------------------


def test_keys_never_reach_the_log(real_server: Server, log_offset: int) -> None:
    """Requests with every configured key and with unknown ones, in every place a key goes:
    the server's log (JSON lines) holds their access lines and not one key."""
    good = dumps(small_example())
    request_ids = []
    attempts = [
        {"Authorization": f"Bearer {key}"} for key in KEYS
    ] + [
        {"X-API-Key": key} for key in KEYS
    ] + [
        {"Authorization": f"Bearer {INTRUDER_KEY}"},
        {"X-API-Key": INTRUDER_KEY},
        {"Authorization": f"Basic {INTRUDER_KEY}"},
        {"Authorization": INTRUDER_KEY},
    ]  # fmt: skip
    for i, headers in enumerate(attempts):
        request_id = f"keylog-{i}"
        request_ids.append(request_id)
        http(
            "POST", f"{real_server.url}/v1/validate", good, {**headers, "X-Request-ID": request_id}
        )
    http(
        "POST",
        f"{real_server.url}/v1/validate?api_key={INTRUDER_KEY}",
        good,
        {"X-Request-ID": "keylog-q"},
    )
    http("POST", f"{real_server.url}/no/such/{INTRUDER_KEY}", good, {"X-Request-ID": "keylog-p"})
    log = real_server.logs()
    mine = log[log_offset:]
    for request_id in [*request_ids, "keylog-q", "keylog-p"]:
        assert f'"request_id": "{request_id}"' in mine, request_id
    for key in (*KEYS, INTRUDER_KEY):
        for part in (key, key[len(key) // 2 :]):
            assert part not in log, "a key reached the log"


def test_keys_are_compared_with_every_configured_key_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review of service/api/auth.py as a test: every lookup compares a SHA-256 digest (same
    length whatever was sent) with every configured key through hmac.compare_digest, whether
    the first, the last or no key matches, so timing tells nothing about which key or how
    much of one was right."""
    keys = [
        ApiKey(secret=SecretStr(f"key-{i}-{'x' * i}"), companies=frozenset({"*"})) for i in range(5)
    ]
    ring = KeyRing(keys)
    calls: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(auth_module.hmac, "compare_digest", counting)
    for presented in ("key-0-", "key-4-xxxx", "nope", "k" * 10_000, ""):
        calls.clear()
        ring.identify(presented)
        assert calls == [(32, 32)] * 5, (presented[:10], calls)


def test_the_audit_script_is_there_and_parses() -> None:
    script = ROOT / "scripts" / "audit.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


WEBHOOK_SECRET = "hardening-webhook-secret-Rb7Kp2Qz"


def _console_sign_in(server: Server, key: str, request_id: str) -> int:
    """Sign in to the console with ``key`` as a browser would (pre-session cookie, CSRF token
    from the form, the key in a form field); the status of the sign-in POST."""
    _, headers, page = http("GET", f"{server.url}/console/sign-in")
    cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
    token = re.search(rb'name="csrf" value="([^"]+)"', page)
    assert token is not None and cookie, "no sign-in form"
    form = urllib.parse.urlencode({"csrf": token.group(1).decode(), "api_key": key}).encode()
    request = urllib.request.Request(
        f"{server.url}/console/sign-in",
        data=form,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "X-Request-ID": request_id,
        },
    )
    try:  # a redirect (303 after signing in) is an answer here, not something to follow
        with _NO_REDIRECTS.open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects)


def test_keys_and_webhook_secrets_never_reach_the_log_from_the_archive_or_console(
    real_server: Server, log_offset: int
) -> None:
    """Every key (and an unknown one) on the document, batch and console doors: listings,
    reads of ids that do not exist, a batch whose items fail validation (rendered in the
    background, so the runner's log lines are in too), a batch with a refused webhook, and
    console sign-ins that succeed and fail. The log has their access lines and no key, no
    webhook secret, not even half of one."""
    sent: list[str] = []

    def call(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> int:
        request_id = f"keylog-archive-{len(sent)}"
        sent.append(request_id)
        status, _, _ = http(
            method, f"{real_server.url}{path}", body, {**headers, "X-Request-ID": request_id}
        )
        return status

    unusable = b'{"company": {"id": "xiaokang-life"}, "report_year": "x"}\n'
    for key in (*KEYS, INTRUDER_KEY):
        for header in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
            call("GET", "/v1/documents?limit=5", None, header)
            call("GET", "/v1/documents/doc_00000000000000000000/pdf", None, header)
            call("GET", "/v1/batches", None, header)
            call("GET", "/v1/batches/bat_00000000000000000000/archive", None, header)
            call("POST", "/v1/documents/doc_00000000000000000000/versions", None, header)
        batch_headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
        call("POST", "/v1/batches", unusable, batch_headers)
        webhook = {
            "X-Pilu-Webhook-Url": f"http://127.0.0.1:9/{key}",
            "X-Pilu-Webhook-Secret": WEBHOOK_SECRET,
        }
        assert call("POST", "/v1/batches", unusable, {**batch_headers, **webhook}) in (401, 422)
        call("GET", f"/v1/documents?api_key={key}", None, {})
        request_id = f"keylog-console-{len(sent)}"
        sent.append(request_id)
        expected = 401 if key == INTRUDER_KEY else 303
        assert _console_sign_in(real_server, key, request_id) == expected
    time.sleep(1.0)  # the background runner's lines about the failed items
    mine = real_server.logs()[log_offset:]
    for request_id in sent:
        assert f'"request_id": "{request_id}"' in mine, request_id
    log = real_server.logs()
    for secret in (*KEYS, INTRUDER_KEY, WEBHOOK_SECRET):
        for part in (secret, secret[len(secret) // 2 :]):
            assert part not in log, "a key or webhook secret reached the log"
