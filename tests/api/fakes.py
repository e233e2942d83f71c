"""A stand-in pipeline for API tests: tiny payloads, instant "documents", and switches in the
payload that make a render sleep, crash its process, or raise an unexpected error.

Module-level functions only, so worker processes can import them by name.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import FieldError, MalformedJSON, PayloadInvalid
from service.jobs.render import RenderOutcome
from service.store import Rendered

SECRET_IN_TRACEBACK = "do-not-leak-this-internal-detail"


class FakeCompany(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    short_name: str = Field(min_length=1)


class FakePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company: FakeCompany
    report_year: int = Field(ge=2000, le=2100)
    title: str = Field(min_length=1)
    sleep_s: float = 0.0
    crash: bool = False
    explode: bool = False

    @property
    def stem(self) -> str:
        """The file name the fake gives its documents, without the extension."""
        return f"{self.company.short_name}-{self.report_year}-{self.title}"

    def act_out(self) -> None:
        """What the payload asks of a render before it answers: take ``sleep_s``, kill the
        worker (``crash``), or raise with an internal detail (``explode``)."""
        if self.sleep_s:
            time.sleep(self.sleep_s)
        if self.crash:
            os._exit(3)
        if self.explode:
            raise RuntimeError(SECRET_IN_TRACEBACK)


def payload(company: str = "xiaokang-life", **extra: Any) -> dict[str, Any]:
    return {
        "company": {"id": company, "short_name": "小康人寿"},
        "report_year": 2023,
        "title": "消费者权益保护工作重大信息披露",
        **extra,
    }


def payload_bytes(company: str = "xiaokang-life", **extra: Any) -> bytes:
    return json.dumps(payload(company, **extra), ensure_ascii=False).encode()


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedJSON(
            "不是UTF-8文本", details={"line": 1, "column": 1, "position": exc.start}
        ) from exc
    except json.JSONDecodeError as exc:
        raise MalformedJSON(
            f"JSON格式错误：{exc.msg}",
            details={"line": exc.lineno, "column": exc.colno, "position": exc.pos},
        ) from exc


def parse(raw: bytes) -> FakePayload:
    try:
        return FakePayload.model_validate(_decode(raw))
    except ValidationError as exc:
        raise PayloadInvalid(
            [
                FieldError("$." + ".".join(str(p) for p in e["loc"]), e["type"], e["msg"])
                for e in exc.errors()
            ]
        ) from None


def company_id(raw: bytes) -> str:
    obj = _decode(raw)
    company = obj.get("company") if isinstance(obj, dict) else None
    value = company.get("id") if isinstance(company, dict) else None
    if not isinstance(value, str) or not value:
        raise PayloadInvalid([FieldError("$.company.id", "missing", "缺少必填项")])
    return value


def render(raw: bytes, fmt: str, pdf_variant: str | None = None) -> tuple[bytes, str]:
    p = parse(raw)
    p.act_out()
    return f"{fmt}|{p.title}|{os.getpid()}".encode(), f"{p.stem}.{fmt}"


def render_item(raw: bytes) -> RenderOutcome:
    """Both "documents" of a payload with made-up manifest facts, as
    :func:`service.jobs.render.render_item` returns them; payload problems as ``errors``."""
    try:
        p = parse(raw)
    except (PayloadInvalid, MalformedJSON) as exc:
        errors = getattr(exc, "errors", None) or [FieldError("$", exc.code, exc.message)]
        return RenderOutcome(None, tuple(errors))
    p.act_out()
    outputs = {
        fmt: f"{fmt}|{p.company.id}|{p.report_year}|{p.title}".encode() for fmt in ("pdf", "docx")
    }
    return RenderOutcome(
        Rendered(
            company_id=p.company.id,
            report_year=p.report_year,
            kind="consumer-protection-annual",
            outputs=outputs,
            filenames={fmt: f"{p.stem}.{fmt}" for fmt in outputs},
            template_version=f"consumer-protection-annual/{p.report_year}",
            house_style="fake",
            house_style_version="0",
            fonts={},
            libraries={"python": "fake"},
        )
    )


def preview(raw: bytes) -> dict[str, Any]:
    p = parse(raw)
    return {
        "company": p.company.model_dump(),
        "report_year": p.report_year,
        "figures": {"complaints.total": "1,234"},
        "filename_stem": p.stem,
    }


def payload_schema() -> dict[str, Any]:
    return FakePayload.model_json_schema()


def warm_up() -> None:
    """Nothing to load; present so the pool's initializer path runs."""
