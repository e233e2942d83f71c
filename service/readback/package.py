"""Open an uploaded DOCX safely: the ZIP and its parts vetted before any XML is read.

Refused, each with a message naming the problem: a file that is not a ZIP or lacks
``[Content_Types].xml`` or ``word/document.xml``; more than :data:`MAX_MEMBERS` members or
more than ``max_unpacked`` bytes of XML once inflated (counted while inflating, not from the sizes the
ZIP declares, which a bomb may lie about); macros (a ``.docm`` main part or a ``vbaProject``);
relationships to anything outside the package (``TargetMode="External"``: linked images,
templates, hyperlinks); XML with a DTD or entity declarations. What it cannot say: whether the
package is one of Pilu's, which :mod:`.document` decides from its marks.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

from service.readback.errors import DocxRefused

MAX_MEMBERS = 2000
MAIN_PART = "word/document.xml"
_MACRO_TYPES = ("macroEnabled", "vbaProject", "vbaData")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True, slots=True)
class DocxPackage:
    """The inflated XML parts (``.xml``, ``.rels``) of a vetted DOCX by ZIP name; fonts and
    media are left packed."""

    parts: dict[str, bytes]

    def xml(self, name: str) -> etree._Element | None:
        """Part ``name`` parsed, or ``None`` if the package has no such part."""
        data = self.parts.get(name)
        return None if data is None else parse_xml(data, name)


def parse_xml(data: bytes, name: str) -> etree._Element:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise DocxRefused(f"DOCX中的“{name}”不是有效的XML，文件可能已损坏", {"part": name}) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DocxRefused(f"DOCX中的“{name}”含有DTD声明，已拒绝", {"part": name})
    return root


def open_docx(data: bytes, max_unpacked: int) -> DocxPackage:
    """The vetted package of ``data``; :class:`DocxRefused` names what is wrong."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise DocxRefused(
            "上传的文件不是有效的DOCX文件（无法作为ZIP打开），文件可能已损坏"
        ) from exc
    if len(infos) > MAX_MEMBERS:
        raise DocxRefused(
            f"DOCX包含{len(infos)}个部件，超过上限{MAX_MEMBERS}个", {"members": len(infos)}
        )
    parts: dict[str, bytes] = {}
    left = max_unpacked
    with archive:
        for info in infos:
            if info.is_dir():
                continue
            if any(t.lower() in info.filename.lower() for t in _MACRO_TYPES):
                raise DocxRefused("DOCX含有宏（VBA工程），已拒绝；请另存为不含宏的.docx文件")
            if not info.filename.endswith((".xml", ".rels")):
                continue  # fonts and media are never read: never inflated
            parts[info.filename] = _inflate(archive, info, left, max_unpacked)
            left -= len(parts[info.filename])
    for name in ("[Content_Types].xml", MAIN_PART):
        if name not in parts:
            raise DocxRefused(f"DOCX缺少必需的部件“{name}”，文件可能已损坏", {"part": name})
    package = DocxPackage(parts)
    _check_content_types(package)
    _check_relationships(package)
    return package


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, left: int, limit: int) -> bytes:
    out = bytearray()
    try:
        with archive.open(info) as member:
            while chunk := member.read(65536):
                out += chunk
                if len(out) > left:
                    raise DocxRefused(
                        f"DOCX解压后超过{limit // (1024 * 1024)} MiB，疑为ZIP炸弹，已拒绝",
                        {"max_unpacked_bytes": limit},
                    )
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise DocxRefused(
            f"DOCX中的“{info.filename}”无法解压，文件可能已损坏", {"part": info.filename}
        ) from exc
    return bytes(out)


def _check_content_types(package: DocxPackage) -> None:
    root = package.xml("[Content_Types].xml")
    assert root is not None
    for element in root:
        content_type = element.get("ContentType", "")
        if any(t in content_type for t in _MACRO_TYPES):
            raise DocxRefused(
                "DOCX含有宏（内容类型为启用宏的文档，.docm），已拒绝；请另存为不含宏的.docx文件",
                {"content_type": content_type},
            )


def _check_relationships(package: DocxPackage) -> None:
    for name in sorted(package.parts):
        if not name.endswith(".rels"):
            continue
        root = package.xml(name)
        assert root is not None
        for rel in root:
            if rel.get("TargetMode") == "External":
                raise DocxRefused(
                    f"DOCX引用了外部资源（{rel.get('Target', '')}），已拒绝；"
                    "请删除链接的外部图片、模板或超链接后再上传",
                    {"part": name, "target": rel.get("Target", "")},
                )
