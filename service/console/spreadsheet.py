"""Cells from a spreadsheet as lines of text: the clipboard's text as Excel and WPS put it, a
``.csv`` file, or one sheet of an ``.xlsx`` workbook.

Every way in gives the same :class:`Line` s (the sheet's row number, its cells as text, the
first cell's indentation), so that matching them to a table (:mod:`service.console.table_import`)
has one set of rules. Limits hold before anything is unpacked: the bytes of a file, the cells of
a sheet, and for an ``.xlsx`` (a ZIP) what its members say they unpack to and how far they are
compressed, so a small workbook that would inflate to gigabytes is refused unread.

What it cannot: formulas are read as the values the spreadsheet program last saved (a workbook
written by a program that never computed them gives empty cells); a merged cell's value sits in
its first cell only; hidden rows and columns are read like the others; indentation is seen in
an ``.xlsx`` (the cell's indent) and as leading spaces, not in the clipboard's text, which
carries none; ``.xls`` (before Excel 2007) and ``.ods`` are not read.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from service.errors import PayloadTooLarge, PiluError

MAX_SHEET_BYTES = 4 * 1024 * 1024
"""Largest file (or pasted text) taken, in bytes."""
MAX_SHEET_ROWS = 2000
"""Rows of a sheet read; a sheet with anything below is refused (a table holds 500)."""
MAX_SHEET_COLUMNS = 64
"""Columns of a sheet read; a sheet with anything to their right is refused."""
MAX_CELLS = 20_000
"""Cells with something in them, in one sheet."""
MAX_UNPACKED_BYTES = 32 * 1024 * 1024
"""What the members of an ``.xlsx`` may say they unpack to, together."""
MAX_RATIO = 200
"""How far one member of an ``.xlsx`` may be compressed (unpacked ÷ packed); a sheet of text
compresses tenfold to fiftyfold, a ZIP bomb a thousandfold and more."""
MAX_MEMBERS = 2000

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


class SheetUnreadable(PiluError):
    """A file that is not the spreadsheet it says it is, or text in no encoding we read."""

    status = 422
    code = "sheet_unreadable"


class SheetTooLarge(PayloadTooLarge):
    """A sheet past one of the limits above (bytes, rows, columns, cells, unpacked size)."""

    code = "sheet_too_large"


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the sheet that has something in it."""

    number: int
    """Its row number in the sheet (1 for the first row pasted or in the file)."""
    cells: tuple[str, ...]
    """Its cells as text, trailing empty cells left off."""
    indent: int = 0
    """The first cell's indentation in the workbook (``0`` for text and CSV)."""


def _check_size(data: bytes | str) -> None:
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > MAX_SHEET_BYTES:
        raise SheetTooLarge(
            f"表格内容超过上限（{MAX_SHEET_BYTES // 1024 // 1024} MiB）",
            details={"max_bytes": MAX_SHEET_BYTES},
        )


def lines_from_text(text: str) -> list[Line]:
    """Cells pasted from Excel or WPS: tab-separated, rows ended by CR LF (or LF), a cell holding
    a tab, a newline or a quote written in double quotes (``""`` for a quote); a BOM is dropped."""
    _check_size(text)
    return _lines(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), _Tabs()))


def lines_from_csv(data: bytes) -> list[Line]:
    """A ``.csv`` file: UTF-8 (with or without a BOM), else GB18030 as Chinese Excel saves it;
    UTF-16 with a BOM (Excel's "Unicode text") is tab-separated."""
    _check_size(data)
    text, encoding = _decode(data)
    dialect: type[csv.Dialect] = _Tabs if encoding.startswith("utf-16") else _Commas
    return _lines(csv.reader(io.StringIO(text, newline=""), dialect()))


def _decode(data: bytes) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), encoding
            except UnicodeDecodeError:
                break
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise SheetUnreadable("无法识别文件的文字编码：CSV 须为 UTF-8 或 GB18030（GBK）编码")


class _Tabs(csv.Dialect):
    delimiter = "\t"
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL
    strict = False


class _Commas(_Tabs):
    delimiter = ","


def _lines(rows: Iterable[list[str]]) -> list[Line]:
    out: list[Line] = []
    cells = 0
    try:
        for number, row in enumerate(rows, start=1):
            if number > MAX_SHEET_ROWS:
                if any(c.strip() for c in row):
                    raise _too_many_rows()
                continue
            line = _line(number, row)
            if line is not None:
                cells += _count(line)
                out.append(line)
    except csv.Error as exc:
        raise SheetUnreadable(f"无法读取表格内容：{exc}") from exc
    _check_cells(cells)
    return out


def _line(number: int, values: Iterable[str], indent: int = 0) -> Line | None:
    cells = list(values)
    if len(cells) > MAX_SHEET_COLUMNS and any(c.strip() for c in cells[MAX_SHEET_COLUMNS:]):
        raise SheetTooLarge(f"第{number}行超过{MAX_SHEET_COLUMNS}列，表格过宽")
    while cells and not cells[-1].strip():
        cells.pop()
    return Line(number, tuple(cells), indent) if cells else None


def _count(line: Line) -> int:
    return sum(1 for c in line.cells if c.strip())


def _check_cells(cells: int) -> None:
    if cells > MAX_CELLS:
        raise SheetTooLarge(f"表格有{cells}个非空单元格，超过上限{MAX_CELLS}个")


def _too_many_rows() -> SheetTooLarge:
    return SheetTooLarge(f"表格超过{MAX_SHEET_ROWS}行，请只选取要导入的表格")


# --- .xlsx ------------------------------------------------------------------------------------


def lines_from_xlsx(data: bytes, sheet: str | None = None) -> tuple[list[Line], list[str]]:
    """One sheet of an ``.xlsx`` (the first unless ``sheet`` names another), its cells as the
    values last saved (a number formatted as a percent reads as the percent: 0.1156 → 11.56%),
    and the names of the workbook's sheets."""
    workbook = _open_workbook(data)
    try:
        names = workbook.sheetnames
        if sheet and sheet not in names:
            raise SheetUnreadable(f"工作簿中没有工作表“{sheet}”；有：{'、'.join(names)}")
        worksheet = workbook[sheet or names[0]]
        if not hasattr(worksheet, "iter_rows"):
            raise SheetUnreadable(f"“{worksheet.title}”是图表，不是工作表")
        rows = worksheet.iter_rows(max_row=MAX_SHEET_ROWS + 1, max_col=MAX_SHEET_COLUMNS + 1)
        return _xlsx_lines(rows), list(names)
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile) as exc:
        raise SheetUnreadable(
            f"无法读取工作簿（{type(exc).__name__}），请另存为 .xlsx 后重试"
        ) from exc
    finally:
        workbook.close()


def _xlsx_lines(rows: Iterator[tuple[Any, ...]]) -> list[Line]:
    out: list[Line] = []
    cells = 0
    for number, row in enumerate(rows, start=1):
        texts = [cell_text(c) for c in row]
        if number > MAX_SHEET_ROWS:
            if any(texts):
                raise _too_many_rows()
            break
        alignment = getattr(row[0], "alignment", None) if row else None
        indent = int(getattr(alignment, "indent", 0) or 0)
        line = _line(number, texts, indent)
        if line is not None:
            cells += _count(line)
            _check_cells(cells)
            out.append(line)
    return out


def cell_text(cell: Any) -> str:
    """A workbook cell as the text the import reads: numbers exact in their shortest form, a
    percent-formatted number as its percent, a date as ``YYYY-MM-DD``."""
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if "%" in str(getattr(cell, "number_format", "")):
            return f"{_plain(number * 100)}%"
        return _plain(number)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _plain(number: Decimal) -> str:
    """``Decimal`` in plain notation without trailing zeros (``12``, ``11.56``, ``0.0001``)."""
    text = format(number.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _open_workbook(data: bytes) -> Any:
    _check_size(data)
    _check_zip(data)
    import openpyxl  # a large import, needed only here

    try:
        return openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as exc:  # openpyxl raises whatever its XML parser or zipfile raises
        raise SheetUnreadable(
            f"无法读取工作簿（{type(exc).__name__}）：须为 Excel 或 WPS 保存的 .xlsx 文件"
        ) from exc


def _check_zip(data: bytes) -> None:
    """Refuse what is not an Office Open XML workbook, or would unpack too far, before a byte
    of it is unpacked (a member's declared size bounds what :mod:`zipfile` reads of it)."""
    if not data.startswith(b"PK\x03\x04"):
        raise SheetUnreadable("不是 .xlsx 工作簿（.xls 等旧格式请在 Excel 或 WPS 中另存为 .xlsx）")
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SheetUnreadable("不是有效的 .xlsx 工作簿（ZIP 结构损坏）") from exc
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise SheetUnreadable("不是 .xlsx 工作簿：缺少工作簿内容（xl/workbook.xml）")
    if len(members) > MAX_MEMBERS:
        raise SheetTooLarge(f"工作簿中的文件过多（{len(members)}个）")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise SheetTooLarge(
            f"工作簿解压后超过上限（{MAX_UNPACKED_BYTES // 1024 // 1024} MiB）",
            details={"max_unpacked_bytes": MAX_UNPACKED_BYTES},
        )
    for member in members:
        if member.file_size > 1024 * 1024 and member.file_size > MAX_RATIO * max(
            member.compress_size, 1
        ):
            raise SheetTooLarge(
                f"工作簿中的“{member.filename}”压缩比异常（疑似压缩炸弹），已拒绝读取"
            )
