"""Errors cross the process boundary as data and come back as the same class."""

from __future__ import annotations

import pytest

from service.errors import (
    FieldError,
    InternalError,
    MalformedJSON,
    Overloaded,
    PayloadInvalid,
    PiluError,
)
from service.workers import protocol


@pytest.mark.parametrize(
    "error",
    [
        PayloadInvalid([FieldError("$.a", "required", "缺少必填项")]),
        MalformedJSON("JSON格式错误", details={"line": 3, "column": 5, "position": 17}),
        Overloaded("忙", retry_after_s=9),
    ],
    ids=lambda e: type(e).__name__,
)
def test_pilu_errors_round_trip(error: PiluError) -> None:
    kind, module, qualname, state = protocol.error_message(error)
    assert kind == "raise"
    rebuilt = protocol.rebuild_error(module, qualname, state)
    assert type(rebuilt) is type(error)
    assert rebuilt.as_dict() == error.as_dict()
    assert vars(rebuilt) == vars(error)
    assert str(rebuilt) == str(error)


@pytest.mark.parametrize(
    ("module", "qualname"),
    [("builtins", "ValueError"), ("service.errors", "NoSuchError"), ("os", "system")],
)
def test_unknown_or_foreign_classes_become_internal_errors(module: str, qualname: str) -> None:
    rebuilt = protocol.rebuild_error(module, qualname, {"message": "x", "details": None})
    assert isinstance(rebuilt, InternalError)
    assert rebuilt.message == "内部错误"


def test_unpicklable_state_keeps_message_and_drops_the_rest() -> None:
    error = PiluError("坏了", details={"f": lambda: None})
    *_, state = protocol.error_message(error)
    assert state == {"message": "坏了", "details": None}
