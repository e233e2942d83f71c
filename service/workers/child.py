"""The loop a worker process runs: warm up once, then answer calls until told to stop.

Runs in the child only. It ignores SIGINT, so a Ctrl-C in a terminal (sent to the whole process
group) reaches only the server, which drains and then stops its workers. SIGTERM keeps its
default: a supervisor that signals every process of the service at once (systemd's default
``KillMode=control-group``) cuts running renders; use ``KillMode=mixed``. The server ends a
stuck worker with SIGKILL. A worker whose server died exits within a second, even mid-task
(see :func:`_exit_with_server`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable

from service.errors import PiluError
from service.workers import protocol

WORKER_NICENESS = 10
"""Added to a worker's nice value: under overload the CPU goes first to the server process,
whose event loop answers ``/healthz``, refuses surplus work with 503 and hands out results;
renders only wait a little longer. (Raising one's own nice value needs no privilege.)"""


def worker_main(
    sock: socket.socket,
    initializer: Callable[[], None] | None,
    server_pid: int,
    environ: dict[str, str],
) -> None:
    """Entry point of a worker process (the ``target`` of ``multiprocessing.Process``).

    ``server_pid`` is the process that started this worker, ``environ`` its environment then:
    a worker forked by the fork server would otherwise keep the environment of the fork
    server's own start (a setting changed in between, a test's), where a spawned one has the
    server's."""
    if os.environ != environ:
        os.environ.clear()
        os.environ.update(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # a platform or sandbox that refuses it: run as the server
        os.nice(WORKER_NICENESS)
    _exit_with_server(server_pid)
    try:
        if initializer is not None:
            initializer()
    except BaseException:  # noqa: BLE001 - whatever stops warm-up, the server must hear why
        protocol.send_sync(sock, ("init_failed", traceback.format_exc()))
        return
    protocol.send_sync(sock, ("ready", os.getpid()))
    ledger = protocol.SharedLedger()
    while True:
        data = protocol.recv_bytes_sync(sock)
        if data is None:
            return
        try:
            message = pickle.loads(data)
        except Exception as exc:  # noqa: BLE001 - a function this process cannot import
            protocol.send_sync(sock, ("fail", type(exc).__name__, traceback.format_exc()))
            continue
        if message[0] == "stop":
            return
        _, fn, args = message
        try:
            reply: tuple[object, ...] = ("ok", fn(*args))
        except PiluError as exc:
            reply = protocol.error_message(exc)
        except Exception as exc:  # noqa: BLE001 - reported to the server, which logs it
            reply = ("fail", type(exc).__name__, traceback.format_exc())
        try:
            protocol.send_sync(sock, reply, ledger)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            protocol.send_sync(sock, ("fail", type(exc).__name__, traceback.format_exc()))


def _exit_with_server(server_pid: int, every_s: float = 1.0) -> None:
    """Exit this process once the server that started it is gone (for example SIGKILLed), so
    a worker stuck in a long task is not left behind; an idle worker already exits on end of
    stream.

    The server is watched through a pidfd, readable once it has exited (a zombie not yet
    reaped included): a worker forked by the fork server has that helper for its parent, and
    the helper lives on while any worker does. Without pidfds (not Linux) the parent is
    polled every ``every_s`` instead: the server under ``spawn``, the fork server otherwise."""
    try:
        pidfd: int | None = os.pidfd_open(server_pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        pidfd = None
    parent = os.getppid()

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])
            os._exit(1)
        while True:
            time.sleep(every_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="pilu-server-watch", daemon=True).start()
