"""Format choice and Content-Disposition, as pure functions."""

from __future__ import annotations

from email.message import Message
from email.utils import collapse_rfc2231_value
from urllib.parse import unquote

import pytest

from service.api.negotiation import ascii_filename, choose_format, content_disposition
from service.errors import NotAcceptable

OFFERED = ("pdf", "docx", "zip")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        (None, None, "pdf"),
        (None, "", "pdf"),
        (None, "*/*", "pdf"),
        (None, "application/*", "pdf"),
        (None, "application/zip, application/pdf;q=0.9", "zip"),
        (None, f"{DOCX};q=0.8, */*;q=0.1", "docx"),
        (None, "text/html, */*;q=0.5", "pdf"),
        (None, "*/*;q=0.2, application/pdf;q=0", "docx"),
        (None, "application/pdf;q=garbage, application/zip", "zip"),
        ("zip", "application/pdf", "zip"),
        (" Docx ", None, "docx"),
    ],
)
def test_choose_format(query: str | None, accept: str | None, expected: str) -> None:
    assert choose_format(query, accept, OFFERED) == expected


@pytest.mark.parametrize(
    ("query", "accept"),
    [("html", None), ("", None), (None, "text/html"), (None, "application/pdf;q=0, */*;q=0")],
)
def test_not_acceptable(query: str | None, accept: str | None) -> None:
    with pytest.raises(NotAcceptable) as caught:
        choose_format(query, accept, OFFERED)
    assert caught.value.details == {"supported": list(OFFERED)}


def test_content_disposition_round_trips_the_chinese_name() -> None:
    name = "小康人寿-2023-消费者权益保护工作重大信息披露.pdf"
    header = content_disposition(name, "xiaokang-life-2023-disclosure.pdf")
    assert header.isascii()
    message = Message()
    message["Content-Disposition"] = header
    all_params = message.get_params(header="content-disposition")
    assert all_params is not None
    params = dict(all_params[1:2])
    assert params == {"filename": "xiaokang-life-2023-disclosure.pdf"}
    extended = [v for _, v in all_params if isinstance(v, tuple)]
    assert [collapse_rfc2231_value(v) for v in extended] == [name]  # RFC 2231/5987 decoding
    assert unquote(header.split("filename*=UTF-8''")[1]) == name


@pytest.mark.parametrize(
    ("name", "company", "expected"),
    [
        (
            "小康人寿-2023-消费者权益保护工作重大信息披露.pdf",
            "xiaokang-life",
            "xiaokang-life-2023-disclosure.pdf",
        ),
        ("安和人寿-2024-消费投诉情况.zip", "anhe_life", "anhe_life-2024-disclosure.zip"),
        ("康宁-2022.docx", "康宁", "2022-disclosure.docx"),
        ('a"b\\c.pdf', 'x"y', "x-y-a-b-c-disclosure.pdf"),
    ],
)
def test_ascii_fallback(name: str, company: str, expected: str) -> None:
    result = ascii_filename(name, company)
    assert result == expected
    assert result.isascii() and '"' not in result and "\\" not in result
