"""The checks of a read DOCX against the document its new payload prints: every marked figure,
every generated paragraph, every table cell, the dates. A count retyped without its share and
its 合计 thus fails at the share and the 合计, each error naming its place."""

from __future__ import annotations

from service.kinds import kind_named
from service.model import Document, Paragraph
from service.readback.reading import Reading, figure_label
from service.readback.tables import table_problems


def check_against(out: Reading, new_doc: Document) -> None:
    """Compare what the document says with what ``new_doc`` (the new payload's) prints."""
    kind = kind_named(new_doc.meta.report_kind)
    for name, typed in out.typed.items():
        expected = new_doc.figures.get(name)
        for t in typed:
            if expected is not None and t.text != expected:
                out.problem(
                    t.place,
                    "docx_figure_mismatch",
                    f"数据“{figure_label(kind, name)}”（{name}）为“{t.text}”，按数据应为“{expected}”"
                    "（计算所得的数据须随其组成数据一起修改）",
                )
    _check_generated(out, new_doc)
    _check_tables(out, new_doc)
    _check_dates(out, new_doc)


def _check_generated(out: Reading, new_doc: Document) -> None:
    expected: dict[str, list[str]] = {}
    for block in new_doc.blocks:
        if isinstance(block, Paragraph) and block.origin:
            expected.setdefault(block.origin, []).append(block.text)
    seen: dict[str, int] = {}
    for origin, paragraph in out.generated:
        k = seen.get(origin, 0)
        seen[origin] = k + 1
        texts = expected.get(origin, [])
        want = texts[k] if k < len(texts) else None
        if want is not None and paragraph.text == want:
            continue
        if any(p.path == paragraph.quote() for p in out.problems):
            continue
        out.problem(
            paragraph.quote(),
            "docx_generated_text",
            f"该段是按数据生成的文字（{origin.removeprefix('insert:')}），不能直接改写；"
            + (f"按数据应为“{want}”" if want is not None else "按数据不再有此段")
            + "。请修改其中的数据，或在报送数据中改写",
        )


def _check_tables(out: Reading, new_doc: Document) -> None:
    tables = list(new_doc.tables)
    if len(tables) != len(out.tables):
        if not out.problems:
            out.problem(
                "文档",
                "docx_table_shape",
                f"文档有{len(out.tables)}个表格，按数据应为{len(tables)}个",
            )
        return
    for read, model in zip(out.tables, tables, strict=True):
        for problem in table_problems(read, model):
            if problem not in out.problems:
                out.problems.append(problem)


def _check_dates(out: Reading, new_doc: Document) -> None:
    lead = next((b for b in new_doc.blocks if isinstance(b, Paragraph) and b.role == "lead"), None)
    if out.lead is not None and lead is not None and out.lead.text != lead.text:
        out.problem(out.lead.quote(), "docx_date", f"按数据应为“{lead.text}”")
    signature = new_doc.signature
    line = out.date_line
    if line is not None and signature is not None and line.text.strip() != signature.date_text:
        out.problem(line.quote(), "docx_date", f"成文日期按数据应为“{signature.date_text}”")
