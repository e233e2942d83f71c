"""Module-level tasks a worker process can import by name: echo, sleep, crash, raise."""

from __future__ import annotations

import os
import sys
import time

from service.errors import FieldError, PayloadInvalid, RenderFailed


def echo(data: bytes) -> bytes:
    return data


def pid() -> int:
    return os.getpid()


def sleep_then(seconds: float, value: str) -> str:
    time.sleep(seconds)
    return value


def die(code: int = 7) -> None:
    os._exit(code)


def invalid(paths: list[str]) -> None:
    raise PayloadInvalid([FieldError(p, "required", "缺少必填项") for p in paths])


def render_failed() -> None:
    raise RenderFailed("缺少字体", details={"font": "FZXiaoBiaoSong"})


def unexpected() -> None:
    raise KeyError("internal detail")


def unpicklable_result() -> object:
    return lambda: None


def failing_warm_up() -> None:
    raise RuntimeError("fonts missing")


def noop() -> None:
    """A warm-up that loads nothing."""


def shared_font(n: int) -> dict[str, bytes]:
    """The same large bytes marked Shared in every reply, and bytes of its own per call."""
    from service.workers.protocol import Shared

    return {"font": Shared(b"\x01font" * 200_000), "own": n.to_bytes(4, "big")}


def environment_variable(name: str) -> str | None:
    return os.environ.get(name)


def preloaded_in() -> int | None:
    """The process that imported :mod:`tests.workers.preloaded`, if this one has it."""
    module = sys.modules.get("tests.workers.preloaded")
    return None if module is None else int(module.LOADED_IN)
