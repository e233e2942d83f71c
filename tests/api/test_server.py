"""``serve``: the local dev key, and a real process stopped with SIGTERM mid-render."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.procs import descendants
from service.server import base_url, is_loopback, with_local_dev_key
from service.settings import Settings
from tests.api import fakes
from tests.hardening.support import command_line, free_port, is_running, worker_pids

ROOT = Path(__file__).resolve().parents[2]


def test_dev_key_is_created_private_reused_and_never_printed(tmp_path: Path) -> None:
    settings = Settings(api_keys="", data_dir=tmp_path / "state", workers=0)
    updated, hints = with_local_dev_key(settings)
    key_file = tmp_path / "state" / "dev-api-key"
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [k.secret.get_secret_value() for k in updated.api_keys] == [key]
    assert updated.api_keys[0].companies == frozenset({"*"})
    text = "\n".join(hints)
    assert key not in text
    assert f"$(cat {key_file})" in text and "/v1/render?format=pdf" in text
    again, _ = with_local_dev_key(settings)
    assert again.api_keys[0].secret.get_secret_value() == key


def test_configured_keys_are_left_alone(tmp_path: Path) -> None:
    settings = Settings(api_keys="k:*", data_dir=tmp_path)
    assert with_local_dev_key(settings) == (settings, [])
    assert not (tmp_path / "dev-api-key").exists()


@pytest.mark.parametrize(
    "overrides", [{"host": "0.0.0.0"}, {"host": "example.org"}, {"local_dev_key": False}]
)
def test_no_keys_and_no_dev_key_refuses_to_start(tmp_path: Path, overrides: dict[str, Any]) -> None:
    with pytest.raises(SystemExit, match="PILU_API_KEYS"):
        with_local_dev_key(Settings(api_keys="", data_dir=tmp_path, **overrides))


@pytest.mark.parametrize(
    ("host", "loopback", "url"),
    [
        ("127.0.0.1", True, "http://127.0.0.1:1"),
        ("::1", True, "http://[::1]:1"),
        ("localhost", True, "http://localhost:1"),
        ("0.0.0.0", False, "http://0.0.0.0:1"),
    ],
)
def test_hosts(host: str, loopback: bool, url: str) -> None:
    assert is_loopback(host) is loopback
    assert base_url(host, 1) == url


@pytest.fixture
def server(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILU_")}
    env.update(
        PILU_WORKERS="1",
        PILU_DATA_DIR=str(tmp_path),
        PILU_SHUTDOWN_GRACE_S=str(getattr(request, "param", 10)),
        PYTHONPATH=str(ROOT),
    )
    code = (
        "from service.server import serve\n"
        "from tests.api.conftest import FAKE_BACKEND\n"
        f"serve('127.0.0.1', {port}, backend=FAKE_BACKEND)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process, f"http://127.0.0.1:{port}", tmp_path
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


async def wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as session:
        while True:
            assert process.poll() is None, process.communicate()
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.1)


async def up(
    server: tuple[subprocess.Popen[str], str, Path],
) -> tuple[subprocess.Popen[str], str, str]:
    """The server's process, URL and dev key, once it answers."""
    process, url, data_dir = server
    await wait_until_up(url, process)
    return process, url, (data_dir / "dev-api-key").read_text().strip()


async def render_in_flight(
    session: aiohttp.ClientSession, url: str, **payload: Any
) -> asyncio.Task[aiohttp.ClientResponse]:
    """A render of the fake ``payload`` sent, and under way for 0.3 s."""
    inflight = asyncio.create_task(
        session.post(f"{url}/v1/render", data=fakes.payload_bytes(**payload))
    )
    await asyncio.sleep(0.3)
    return inflight


async def test_sigterm_lets_an_inflight_render_finish(
    server: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, url, key = await up(server)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        inflight = await render_in_flight(session, url, sleep_s=1.0, title="最后")
        process.send_signal(signal.SIGTERM)
        response = await inflight
        assert response.status == 200
        assert (await response.read()).decode().startswith("pdf|最后|")
    assert await asyncio.to_thread(process.wait, 10) == 0
    stdout, stderr = process.communicate()
    assert "Pilu listening on" in stdout and "dev-api-key" in stdout
    assert key not in stdout + stderr
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [entry for entry in logs if entry["logger"] == "pilu.access"]
    assert any(e["route"] == "/v1/render" and e["status"] == 200 for e in access)


@pytest.mark.parametrize("server", [0.3], indirect=True)
async def test_sigterm_cuts_renders_past_the_grace_period(
    server: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, url, key = await up(server)
    async with aiohttp.ClientSession(headers={"X-API-Key": key}) as session:
        inflight = await render_in_flight(session, url, sleep_s=30)
        workers = descendants(process.pid)
        assert worker_pids(process.pid), "the worker process should be the server's"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        with pytest.raises(aiohttp.ClientError):
            await (await inflight).read()
    assert await asyncio.to_thread(process.wait, 10) == 0
    assert time.monotonic() - started < 5
    # Every child counts, spawn's resource tracker included: the server reaps them all before
    # it exits, so this holds at once, however loaded the machine (no polling needed).
    outlived = {pid: command_line(pid) for pid in workers if is_running(pid)}
    assert not outlived, f"a child outlived the server: {outlived}"


async def test_workers_do_not_outlive_a_killed_server(
    server: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, url, key = await up(server)
    async with aiohttp.ClientSession(headers={"X-API-Key": key}) as session:
        inflight = await render_in_flight(session, url, sleep_s=30)
        assert worker_pids(process.pid)
        workers = descendants(process.pid)  # the fork server and resource tracker too
        process.kill()  # no cleanup at all: the worker is mid-task and its parent is gone
        with pytest.raises(aiohttp.ClientError):
            await (await inflight).read()
    deadline = time.monotonic() + 5
    while [pid for pid in workers if is_running(pid)]:
        assert time.monotonic() < deadline, "a worker outlived its killed server"
        await asyncio.sleep(0.1)
