"""Frames between the server and a worker process: an 8-byte length, then a pickle.

Server to worker: ``("call", fn, args)`` or ``("stop",)``. Worker to server: ``("ready", pid)``,
``("init_failed", traceback)``, ``("ok", result)``, ``("raise", module, qualname, state)`` for a
:class:`~service.errors.PiluError`, ``("fail", type name, traceback)`` for anything else.

**Shared bytes cross once.** A worker marks bytes it will send again and again (a DOCX's embedded
fonts, the same in every document) as :class:`Shared`. The first frame that holds them carries
them whole; later frames of the same worker carry only their SHA-256, and the server uses the
copy it kept. Each end of a connection keeps a :class:`SharedLedger` of what crossed, most
recent last, within :data:`SHARED_BUDGET_BYTES`; both apply the same steps in the same order
(pickling and unpickling walk a frame alike), so the server always holds what the worker names.
A frame that fails to pickle leaves the worker's ledger as it was.

Errors cross as plain data, not pickled exceptions: ``PayloadInvalid(errors)`` cannot be rebuilt
by pickle from its message, and a worker's traceback must reach the log, never a caller. Both ends
are our own processes, so unpickling is trusted; nothing here is safe for frames from elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import io
import pickle
import socket
import struct
from collections import OrderedDict
from typing import Any

from service.errors import InternalError, PiluError

_HEADER = struct.Struct("!Q")

SHARED_BUDGET_BYTES = 64 * 1024 * 1024
"""What one worker connection's :class:`SharedLedger` holds at most (the server keeps the bytes:
a house style's fonts are ~2 MB)."""


class Shared(bytes):
    """Bytes a worker is likely to send again; crosses by reference after the first time."""

    sha256: str

    def __new__(cls, data: bytes, sha256: str | None = None) -> Shared:
        self = super().__new__(cls, data)
        self.sha256 = sha256 or hashlib.sha256(data).hexdigest()
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Shared, (bytes(self), self.sha256))


class SharedLedger:
    """The :class:`Shared` values one connection carried, least recent first, within a budget.

    The worker's copy records sizes, the server's the bytes; see the module docstring."""

    def __init__(self, budget: int = SHARED_BUDGET_BYTES) -> None:
        self.budget = budget
        self._entries: OrderedDict[str, Shared | int] = OrderedDict()
        self._size = 0

    def get(self, sha256: str) -> Shared | int | None:
        """The entry for ``sha256``, now the most recent; ``None`` if it is not held."""
        entry = self._entries.get(sha256)
        if entry is not None:
            self._entries.move_to_end(sha256)
        return entry

    def add(self, sha256: str, entry: Shared | int) -> None:
        size = entry if isinstance(entry, int) else len(entry)
        self._entries[sha256] = entry
        self._size += size
        while self._size > self.budget and len(self._entries) > 1:
            _, old = self._entries.popitem(last=False)
            self._size -= old if isinstance(old, int) else len(old)

    def snapshot(self) -> tuple[OrderedDict[str, Shared | int], int]:
        return OrderedDict(self._entries), self._size

    def restore(self, snapshot: tuple[OrderedDict[str, Shared | int], int]) -> None:
        self._entries, self._size = snapshot


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, ledger: SharedLedger) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.ledger = ledger

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is not Shared:
            return None
        if self.ledger.get(obj.sha256) is not None:
            return ("shared", obj.sha256)
        self.ledger.add(obj.sha256, len(obj))
        return ("new", obj.sha256, bytes(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, ledger: SharedLedger) -> None:
        super().__init__(file)
        self.ledger = ledger

    def persistent_load(self, pid: Any) -> Any:
        if pid[0] == "new":
            new = Shared(pid[2], pid[1])
            self.ledger.add(pid[1], new)
            return new
        held = self.ledger.get(pid[1])
        if not isinstance(held, Shared):
            raise pickle.UnpicklingError(f"shared bytes {pid[1]} were never sent")
        return held


def dumps(message: tuple[Any, ...], ledger: SharedLedger | None) -> bytes:
    """``message`` pickled; with ``ledger``, :class:`Shared` values it has seen go as references
    (the ledger is left as it was when pickling fails)."""
    if ledger is None:
        return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    buffer = io.BytesIO()
    before = ledger.snapshot()
    try:
        _Pickler(buffer, ledger).dump(message)
    except BaseException:
        ledger.restore(before)
        raise
    return buffer.getvalue()


def loads(data: bytes, ledger: SharedLedger | None) -> Any:
    if ledger is None:
        return pickle.loads(data)
    return _Unpickler(io.BytesIO(data), ledger).load()


def encode(message: tuple[Any, ...]) -> bytes:
    """One frame. Raises ``pickle.PicklingError``/``AttributeError``/``TypeError`` for an
    unpicklable function or argument (a lambda, a closure), before anything reaches a worker."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader, ledger: SharedLedger | None = None) -> Any:
    """The next message (``ledger``: the connection's, see :class:`SharedLedger`);
    ``asyncio.IncompleteReadError`` when the worker is gone."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return loads(await reader.readexactly(size), ledger)


def send_sync(
    sock: socket.socket, message: tuple[Any, ...], ledger: SharedLedger | None = None
) -> None:
    """Send one frame; the pickle (megabytes for a document) is sent as it is, not copied
    behind its header."""
    data = dumps(message, ledger)
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
