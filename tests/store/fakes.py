"""Stand-ins for the renderer: quick, deterministic bytes per payload, real-looking manifests."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from service.errors import FieldError
from service.jobs.render import RenderOutcome
from service.provenance import library_versions
from service.store import Rendered
from service.store.models import sha256_hex

KIND = "consumer-protection-annual"
FONTS = {
    "FandolFang-Regular.otf": "d838ad32ce2244d8144f408c37fe71065aba6fbbc80759a4d2aa2033948d5bc9"
}


def payload(company: str = "xiaokang-life", year: int = 2023, n: int = 0, **extra: Any) -> bytes:
    short = {"xiaokang-life": "小康人寿", "anhe-life": "安和人寿"}.get(company, company)
    obj = {"company": {"id": company, "short_name": short}, "report_year": year, "n": n, **extra}
    return json.dumps(obj, ensure_ascii=False).encode()


def rendered_for(raw: bytes) -> Rendered:
    obj = json.loads(raw)
    company, year = obj["company"]["id"], obj["report_year"]
    stem = f"{obj['company'].get('short_name', company)}-{year}-消费者权益保护工作重大信息披露"
    digest = sha256_hex(raw)
    return Rendered(
        company_id=company,
        report_year=year,
        kind=KIND,
        outputs={
            "pdf": b"%PDF-1.7 fake " + digest.encode(),
            "docx": b"PK\x03\x04 fake " + digest.encode(),
        },
        filenames={"pdf": f"{stem}.pdf", "docx": f"{stem}.docx"},
        template_version=f"{KIND}/{year}",
        house_style="gbt9704",
        house_style_version="0123456789abcdef",
        fonts=FONTS,
        libraries=library_versions(),
    )


class FakeRender:
    """An async render: ``{"fail": true}`` payloads fail with a FieldError, ``{"sleep": s}`` ones
    take ``s`` seconds; counts calls per payload hash."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls: Counter[str] = Counter()

    async def __call__(self, raw: bytes) -> RenderOutcome:
        self.calls[sha256_hex(raw)] += 1
        obj = json.loads(raw)
        await asyncio.sleep(obj.get("sleep", self.delay_s))
        if obj.get("fail"):
            return RenderOutcome(
                None, (FieldError("$.figures", "breakdown_sum_mismatch", "分项合计与总数不符"),)
            )
        return RenderOutcome(rendered_for(raw))
