"""What cannot be read back is said, not dropped: refused packages, unmarked documents, images,
comments, text boxes, foreign styles, reworded generated text and figures changed in one place
only — each with a message naming the problem and, where there is one, its place."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from docx.oxml.ns import qn
from lxml import etree

from service import pipeline
from service.readback import DocxRefused, ReadBackFailed, read_back
from tests.conftest import EXAMPLES
from tests.readback import edits

pytestmark = pytest.mark.slow

ANNUAL = (EXAMPLES / "xiaokang-life-2023.json").read_bytes()


@pytest.fixture(scope="module")
def annual_docx() -> bytes:
    return edits.render(ANNUAL)


def _rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    """``data`` with members replaced (``None``: removed) or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename in change:
                continue
            target.writestr(info, source.read(info))
        for name, member in change.items():
            if member is not None:
                target.writestr(name, member, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def _refused(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(DocxRefused) as caught:
        read_back(data, ANNUAL, **kwargs)
    assert caught.value.status == 400
    return caught.value.message


def _failed(data: bytes, base: bytes = ANNUAL, **kwargs: Any) -> list[dict[str, str]]:
    with pytest.raises(ReadBackFailed) as caught:
        read_back(data, base, **kwargs)
    assert caught.value.status == 422
    return [e.as_dict() for e in caught.value.errors]


def test_a_file_that_is_not_a_zip_is_refused() -> None:
    assert "不是有效的DOCX" in _refused(b"%PDF-1.7 not a word document")


def test_a_truncated_package_is_refused(annual_docx: bytes) -> None:
    assert "损坏" in _refused(annual_docx[: len(annual_docx) // 2])


def test_a_zip_bomb_is_refused_while_inflating(annual_docx: bytes) -> None:
    bomb = _rezip(annual_docx, {"word/bomb.xml": b"<a>" + b" " * (8 * 1024 * 1024) + b"</a>"})
    assert len(bomb) < len(annual_docx) + 64 * 1024
    assert "ZIP炸弹" in _refused(bomb, max_unpacked=4 * 1024 * 1024)


def test_macros_are_refused(annual_docx: bytes) -> None:
    types = _member(annual_docx, "[Content_Types].xml").replace(
        b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
    )
    assert "宏" in _refused(_rezip(annual_docx, {"[Content_Types].xml": types}))
    assert "宏" in _refused(_rezip(annual_docx, {"word/vbaProject.bin": b"\0" * 64}))


def test_external_relationships_are_refused(annual_docx: bytes) -> None:
    rels = _member(annual_docx, "word/_rels/document.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/image" Target="http://example.com/a.png" TargetMode="External"/>'
        b"</Relationships>",
    )
    message = _refused(_rezip(annual_docx, {"word/_rels/document.xml.rels": rels}))
    assert "外部资源" in message and "example.com" in message


def test_broken_or_declared_xml_is_refused(annual_docx: bytes) -> None:
    broken = _rezip(annual_docx, {"word/document.xml": b"<w:document"})
    assert "不是有效的XML" in _refused(broken)
    entity = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'
    assert "DTD" in _refused(_rezip(annual_docx, {"word/styles.xml": entity}))
    missing = _rezip(annual_docx, {"word/document.xml": None})
    assert "word/document.xml" in _refused(missing)


def test_a_document_without_marks_is_refused_unless_best_effort(annual_docx: bytes) -> None:
    doc = edits.open_docx(annual_docx)
    for tag in ("w:bookmarkStart", "w:bookmarkEnd"):
        for element in list(doc.element.body.iter(qn(tag))):
            element.getparent().remove(element)
    unmarked = edits.save(doc)
    (error,) = _failed(unmarked)
    assert error["code"] == "docx_not_marked" and "best-effort" in error["message"]
    result = read_back(unmarked, ANNUAL, best_effort=True)
    _, before = pipeline.build(ANNUAL)
    # Figures and generated texts come back as plain text: the document prints the same.
    assert result.document.plain_text() == before.plain_text()
    assert "{training.participants}" not in result.payload.decode()


def _paragraph(doc: Any, text: str) -> etree._Element:
    p: etree._Element = edits.paragraph_with(doc, text)._p
    return p


def test_images_text_boxes_comments_and_foreign_styles_are_named(annual_docx: bytes) -> None:
    doc = edits.open_docx(annual_docx)
    run = _paragraph(doc, "数据安全和客户信息保护机制运行良好").find(qn("w:r"))
    assert run is not None
    etree.SubElement(run, qn("w:drawing"))
    boxed = _paragraph(doc, "结合最近三年发展战略规划").find(qn("w:r"))
    assert boxed is not None
    box = etree.SubElement(boxed, qn("w:pict"))
    etree.SubElement(
        etree.SubElement(box, "{urn:schemas-microsoft-com:vml}textbox"), qn("w:txbxContent")
    )
    etree.SubElement(_paragraph(doc, "根据消保监管评价的通报情况"), qn("w:commentRangeStart"))
    foreign = _paragraph(doc, "2023年，公司秉持")
    ppr = etree.SubElement(foreign, qn("w:pPr"))
    foreign.insert(0, ppr)
    etree.SubElement(ppr, qn("w:pStyle")).set(qn("w:val"), "MyQuote")
    errors = _failed(edits.save(doc))
    codes = {e["code"] for e in errors}
    assert {"docx_image", "docx_text_box", "docx_comments", "docx_unknown_style"} <= codes
    assert all(e["path"].startswith("第") for e in errors)
    unknown = next(e for e in errors if e["code"] == "docx_unknown_style")
    assert "myquote" in unknown["message"]


def test_reworded_generated_text_is_an_error_naming_its_paragraph(annual_docx: bytes) -> None:
    doc = edits.open_docx(annual_docx)
    paragraph = edits.paragraph_with(doc, "公司无群诉群访事件")
    edits.replace_in_paragraph(paragraph, "无群诉群访事件", "未发生群诉群访事件")
    (error,) = _failed(edits.save(doc))
    assert error["code"] == "docx_generated_text"
    assert "complaints.group" in error["message"] and "无群诉群访事件" in error["message"]


def test_a_figure_changed_in_one_place_but_not_another_is_an_error_at_both() -> None:
    payload = json.loads(ANNUAL)
    payload["intro"].append("全年培训{training.participants}人次。")
    base = json.dumps(payload, ensure_ascii=False).encode()
    doc = edits.open_docx(edits.render(base))
    first, second = edits.figure_runs(doc, "training.participants")
    edits.set_run_text(first, "1500")
    (error,) = _failed(edits.save(doc), base)
    assert error["code"] == "docx_figure_inconsistent"
    assert "“1500”" in error["message"] and "“1486”" in error["message"]
    assert error["message"].count("段") >= 2


def test_a_figure_deleted_and_retyped_beside_its_mark_is_read_as_text(annual_docx: bytes) -> None:
    doc = edits.open_docx(annual_docx)
    (run,) = edits.figure_runs(doc, "training.participants")
    edits.set_run_text(run, "")
    following = run.getnext()
    while following is not None and following.tag != qn("w:r"):
        following = following.getnext()
    assert following is not None
    text = following.find(qn("w:t"))
    assert text is not None and text.text is not None
    text.text = "1486" + text.text
    result = read_back(edits.save(doc), ANNUAL)
    content = json.loads(result.payload)["sections"][0]["sections"][0]["sections"][4]["content"]
    assert "约1486人次" in content[0] and "{training.participants}" not in content[0]
    assert result.diff["figures"] == []


def test_best_effort_says_what_it_left_out(annual_docx: bytes) -> None:
    doc = edits.open_docx(annual_docx)
    run = _paragraph(doc, "数据安全和客户信息保护机制运行良好").find(qn("w:r"))
    assert run is not None
    etree.SubElement(run, qn("w:drawing"))
    data = edits.save(doc)
    assert {e["code"] for e in _failed(data)} == {"docx_image"}
    result = read_back(data, ANNUAL, best_effort=True)
    (warning,) = result.warnings
    assert warning.code == "docx_image" and warning.path.startswith("第")
    _, before = pipeline.build(ANNUAL)
    assert result.document.plain_text() == before.plain_text()
