"""Fixtures of the hardening tests: one real server for the session, bounded fuzzing settings.

``PILU_FUZZ_SCALE`` multiplies every fuzz test's example count (default 1, what ``make test``
runs in well under a minute); ``PILU_FUZZ_SCALE=20`` is a long run before a release.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.hardening.support import Server, children_of, exists

FUZZ_SCALE = max(1, int(os.environ.get("PILU_FUZZ_SCALE", "1")))

settings.register_profile(
    "hardening",
    deadline=None,
    database=None,  # no .hypothesis/ folder in the checkout; failures print a reproduce blob
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # No shrinking: an example costs up to a render, and shrinking one failure once took more
    # than five minutes. The failing example is printed as drawn (and replayable by its blob).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


def fuzz_settings(count: int) -> settings:
    """Hypothesis settings for ``count`` examples (times ``PILU_FUZZ_SCALE``), no deadline."""
    return settings(settings.get_profile("hardening"), max_examples=count * FUZZ_SCALE)


@pytest.fixture(scope="session")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``pilu serve`` with the real pipeline: 2 workers, a queue of 4, three API keys.

    Shared by the API fuzzing, intruder, overload and worker-kill tests; each leaves it with
    both workers warm. Stopped with SIGTERM at the end of the session, and checked to leave no
    child process behind.
    """
    server = Server(
        tmp_path_factory.mktemp("real-server"),
        env={
            "PILU_WORKERS": "2",
            "PILU_QUEUE_LIMIT": "4",
            "PILU_RETRY_AFTER_S": "1",
            "PILU_RENDER_TIMEOUT_S": "60",
            "PILU_SHUTDOWN_GRACE_S": "10",
        },
    ).start()
    try:
        yield server
    finally:
        children = (
            children_of(server.pid) if server.process and server.process.poll() is None else []
        )
        code = server.stop()
        assert code == 0, server.logs()[-3000:]
        assert not [pid for pid in children if exists(pid)], "a child outlived the server"


@pytest.fixture
def log_offset(real_server: Server) -> int:
    """Where the session server's log stands now, so a test reads only its own lines."""
    return len(real_server.logs())


def read_log_since(server: Server, offset: int) -> str:
    return server.logs()[offset:]
