"""ZIP files whose bytes depend only on their members: what the API sends for ``format=zip``."""

from __future__ import annotations

import io
import zipfile

ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
"""Every member's date: the earliest a ZIP can hold, so that no clock reaches the bytes."""


def member_info(name: str) -> zipfile.ZipInfo:
    """A stored (not deflated) member ``name`` dated :data:`ZIP_TIMESTAMP`, mode 0644, Unix."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o100644 << 16
    info.create_system = 3
    return info


def deterministic_zip(members: dict[str, bytes]) -> bytes:
    """A ZIP of ``members`` in name order, each as :func:`member_info` describes. Names are
    UTF-8 (zipfile sets the flag itself). Stored, not deflated: PDF streams and DOCX parts are
    already compressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            archive.writestr(member_info(name), members[name])
    return buffer.getvalue()
