"""Workers forked by a fork server that preloaded modules: loaded once, the server's
environment, nothing left running after the helpers are stopped."""

from __future__ import annotations

import multiprocessing.forkserver
import os

import pytest

from service.workers import ProcessPool
from service.workers.pool import stop_helper_processes
from tests.workers import tasks


def fork_server_pid() -> int | None:
    return multiprocessing.forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]


@pytest.fixture
def fresh_fork_server() -> None:
    """The fork server is one per process: stop one an earlier test started, so that the next
    pool's preload is the one this test sets."""
    stop_helper_processes()
    assert fork_server_pid() is None, "a pool of an earlier test is still running"


@pytest.mark.usefixtures("fresh_fork_server")
async def test_preloaded_modules_are_imported_once_in_the_fork_server() -> None:
    pool = ProcessPool(size=2, start_method="forkserver", preload=("tests.workers.preloaded",))
    await pool.start()
    try:
        pids = {await pool.run(tasks.pid, timeout=10) for _ in range(8)}
        loaded_in = {await pool.run(tasks.preloaded_in, timeout=10) for _ in range(8)}
    finally:
        await pool.close()
    assert len(pids) == 2, "both workers answered"
    assert loaded_in == {fork_server_pid()}, "imported by the fork server, before the forks"
    assert not pids & loaded_in and os.getpid() not in loaded_in


@pytest.mark.usefixtures("fresh_fork_server")
async def test_a_forked_worker_has_the_environment_of_its_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "PILU_TEST_FORKED_ENVIRONMENT"
    monkeypatch.delenv(name, raising=False)
    first = ProcessPool(size=1, start_method="forkserver")
    await first.start()
    try:
        assert await first.run(tasks.environment_variable, name, timeout=10) is None
    finally:
        await first.close()
    server = fork_server_pid()
    monkeypatch.setenv(name, "set after the fork server started")
    second = ProcessPool(size=1, start_method="forkserver")
    await second.start()
    try:
        seen = await second.run(tasks.environment_variable, name, timeout=10)
    finally:
        await second.close()
    assert fork_server_pid() == server, "the same fork server forked both"
    assert seen == "set after the fork server started"


@pytest.mark.usefixtures("fresh_fork_server")
async def test_stopping_the_helpers_ends_the_fork_server() -> None:
    pool = ProcessPool(size=1, start_method="forkserver")
    await pool.start()
    server = fork_server_pid()
    assert server is not None
    assert not stop_helper_processes(), "refused while a worker lives"
    assert fork_server_pid() == server
    await pool.close()
    assert stop_helper_processes()
    assert fork_server_pid() is None
    with pytest.raises(ProcessLookupError):
        os.kill(server, 0)  # ended and reaped
