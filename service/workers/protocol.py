"""Frames between the server and a worker process: an 8-byte length, then a pickle.

Server to worker: ``("call", fn, args)`` or ``("stop",)``. Worker to server: ``("ready", pid)``,
``("init_failed", traceback)``, ``("ok", result)``, ``("raise", module, qualname, state)`` for a
:class:`~service.errors.PiluError`, ``("fail", type name, traceback)`` for anything else.

Errors cross as plain data, not pickled exceptions: ``PayloadInvalid(errors)`` cannot be rebuilt
by pickle from its message, and a worker's traceback must reach the log, never a caller. Both ends
are our own processes, so unpickling is trusted; nothing here is safe for frames from elsewhere.
"""

from __future__ import annotations

import asyncio
import importlib
import pickle
import socket
import struct
from typing import Any

from service.errors import InternalError, PiluError

_HEADER = struct.Struct("!Q")


def encode(message: tuple[Any, ...]) -> bytes:
    """One frame. Raises ``pickle.PicklingError``/``AttributeError``/``TypeError`` for an
    unpicklable function or argument (a lambda, a closure), before anything reaches a worker."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message; ``asyncio.IncompleteReadError`` when the worker is gone."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return pickle.loads(await reader.readexactly(size))


def send_sync(sock: socket.socket, message: tuple[Any, ...]) -> None:
    """Send one frame; the pickle (megabytes for a document) is sent as it is, not copied
    behind its header."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)))
    sock.sendall(data)


def recv_bytes_sync(sock: socket.socket) -> bytes | None:
    """The next frame's pickle bytes, unpickled by the caller; ``None`` at end of stream."""
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    return _recv_exactly(sock, size)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = sock.recv_into(view[received:], size - received)
        if not count:
            return None
        received += count
    return bytes(buffer)


def error_message(exc: PiluError) -> tuple[str, str, str, dict[str, Any]]:
    """The frame that carries a PiluError raised in a worker."""
    cls = type(exc)
    state = dict(vars(exc))
    try:
        pickle.dumps(state)
    except (pickle.PicklingError, TypeError, AttributeError):  # keep what every PiluError has
        state = {"message": exc.message, "details": None}
    return ("raise", cls.__module__, cls.__qualname__, state)


def rebuild_error(module: str, qualname: str, state: dict[str, Any]) -> PiluError:
    """The PiluError a worker raised, with its attributes; InternalError if the class is unknown."""
    cls: Any = None
    if module == "service" or module.startswith("service."):
        try:
            cls = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError):
            cls = None
    message = str(state.get("message", ""))
    if not (isinstance(cls, type) and issubclass(cls, PiluError)):
        return InternalError("内部错误")
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.__dict__.update(state)
    return exc
