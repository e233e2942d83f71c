"""The loop a worker process runs: warm up once, then answer calls until told to stop.

Runs in the child only. It ignores SIGINT, so a Ctrl-C in a terminal (sent to the whole process
group) reaches only the server, which drains and then stops its workers. SIGTERM keeps its
default: a supervisor that signals every process of the service at once (systemd's default
``KillMode=control-group``) cuts running renders; use ``KillMode=mixed``. The server ends a
stuck worker with SIGKILL. A worker whose server died exits within a second, even mid-task.
"""

from __future__ import annotations

import contextlib
import os
import pickle
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


def worker_main(sock: socket.socket, initializer: Callable[[], None] | None) -> None:
    """Entry point of a worker process (the ``target`` of ``multiprocessing.Process``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # a platform or sandbox that refuses it: run as the server
        os.nice(WORKER_NICENESS)
    _exit_with_parent(os.getppid())
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


def _exit_with_parent(parent_pid: int, every_s: float = 1.0) -> None:
    """Exit this process once its parent is gone (for example SIGKILLed), so a worker stuck
    in a long task is not left behind; an idle worker already exits on end of stream."""

    def watch() -> None:
        while True:
            time.sleep(every_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="pilu-parent-watch", daemon=True).start()
