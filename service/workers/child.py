"""The loop a worker process runs: warm up once, then answer calls until told to stop.

Runs in the child only. It ignores SIGINT so a Ctrl-C in a terminal reaches the server, which
drains and then stops its workers; the server ends a stuck worker with SIGKILL, not a message.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import traceback
from collections.abc import Callable

from service.errors import PiluError
from service.workers import protocol


def worker_main(sock: socket.socket, initializer: Callable[[], None] | None) -> None:
    """Entry point of a worker process (the ``target`` of ``multiprocessing.Process``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if initializer is not None:
            initializer()
    except BaseException:
        protocol.send_sync(sock, ("init_failed", traceback.format_exc()))
        return
    protocol.send_sync(sock, ("ready", os.getpid()))
    while True:
        data = protocol.recv_bytes_sync(sock)
        if data is None:
            return
        try:
            message = pickle.loads(data)
        except Exception as exc:  # the server sent a function this process cannot import
            protocol.send_sync(sock, ("fail", type(exc).__name__, traceback.format_exc()))
            continue
        if message[0] == "stop":
            return
        _, fn, args = message
        try:
            reply: tuple[object, ...] = ("ok", fn(*args))
        except PiluError as exc:
            reply = protocol.error_message(exc)
        except Exception as exc:
            reply = ("fail", type(exc).__name__, traceback.format_exc())
        try:
            protocol.send_sync(sock, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            protocol.send_sync(sock, ("fail", type(exc).__name__, traceback.format_exc()))
