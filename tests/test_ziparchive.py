"""The deterministic ZIP: its bytes depend on its members only."""

from __future__ import annotations

import io
import zipfile

from service.ziparchive import deterministic_zip


def test_zip_bytes_depend_only_on_members() -> None:
    a = deterministic_zip({"小康人寿-2023.pdf": b"%PDF", "小康人寿-2023.docx": b"PK"})
    b = deterministic_zip({"小康人寿-2023.docx": b"PK", "小康人寿-2023.pdf": b"%PDF"})
    assert a == b
    archive = zipfile.ZipFile(io.BytesIO(a))
    assert archive.namelist() == ["小康人寿-2023.docx", "小康人寿-2023.pdf"]
    info = archive.getinfo("小康人寿-2023.pdf")
    assert info.date_time == (1980, 1, 1, 0, 0, 0)
    assert info.flag_bits & 0x800  # names are marked UTF-8
    assert archive.read("小康人寿-2023.pdf") == b"%PDF"
