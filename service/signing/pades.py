"""The PAdES signature itself, with pyHanko: the signer read from the PKCS#12 file, the
signature appended to a PDF, and the visible field drawn and tagged at the 署名.

Imported only where a certificate is configured (:func:`service.signing.signer_from_settings`):
pyHanko and what it imports (aiohttp's client among them) cost a process ~0.6 CPU-s to import.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.stamp import TextStampStyle

from service import FONTS_DIR
from service.formats import SIGNATURE_DESTINATION
from service.signing import SigningSetupError

FIELD_NAME = "公司签章"
APPEARANCE_FONT = FONTS_DIR / "FandolSong-Regular.otf"
"""The face of the visible signature's text (GB 2312 and more: a company name is Chinese)."""
SEAL_RED = (0.8, 0.0, 0.0)


class _ArchivalWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, leaving the XMP and Info as rendered.

    pyHanko rewrites the XMP on every save (its own producer, a modification time, and a
    re-serialisation that turns the ``pdfuaid`` extension schema's ``namespaceURI`` text into a
    resource, which PDF/A-3 6.6.2.3 refuses); the signature needs none of it."""

    def _update_meta(self) -> None:
        return None


@dataclass(frozen=True)
class CompanySigner:
    signer: signers.SimpleSigner
    fingerprint: str
    """SHA-256 of the certificate (DER), hex: what the manifest records."""
    subject: str
    visible: bool = False
    """Draw the signature field at the 署名 (else the field has no appearance on any page)."""

    def sign(self, pdf: bytes) -> bytes:
        """``pdf`` with a PAdES B-B signature appended as an incremental update; visible at the
        署名 when :attr:`visible` and the document has one (else invisible)."""
        writer = _ArchivalWriter(BytesIO(pdf))
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
        )
        place = visible_field_box(writer) if self.visible else None
        if place is not None:
            page, box = place
            fields.append_signature_field(
                writer, fields.SigFieldSpec(FIELD_NAME, on_page=page, box=box)
            )
            _tag_widget(writer, page)
            pdf_signer = signers.PdfSigner(meta, signer=self.signer, stamp_style=_seal_style())
        else:
            pdf_signer = signers.PdfSigner(meta, signer=self.signer)
        out = pdf_signer.sign_pdf(writer)
        signed: bytes = out.getvalue()
        return signed


def signature_rectangle(
    writer: IncrementalPdfFileWriter,
) -> tuple[int, tuple[float, float, float, float]] | None:
    """The page index and rectangle (left, bottom, right, top) of the signature block, as the
    PDF writer recorded them (named destination ``signature``, ``/FitR``); ``None`` if absent."""
    try:
        names = writer.root["/Names"]["/Dests"]["/Names"]
    except KeyError:
        return None
    for index in range(0, len(names) - 1, 2):
        if str(names[index]) != SIGNATURE_DESTINATION:
            continue
        destination = names[index + 1]
        page_ref = destination.raw_get(0)
        left, bottom, right, top = (float(destination[i]) for i in range(2, 6))
        count = int(writer.root["/Pages"]["/Count"])
        for page in range(count):
            ref = writer.find_page_for_modification(page)[0]  # type: ignore[no-untyped-call]
            if isinstance(page_ref, generic.IndirectObject) and ref.idnum == page_ref.idnum:
                return page, (left, bottom, right, top)
    return None


def visible_field_box(
    writer: IncrementalPdfFileWriter,
) -> tuple[int, tuple[int, int, int, int]] | None:
    """Page index and box of the visible signature: the lines of the signature block with an
    eighth of their height around them, and 0.4 of it more above (the blank line above the
    署名, where the stamp's two lines of text go); ``None`` for a document without 署名."""
    found = signature_rectangle(writer)
    if found is None:
        return None
    page, (left, bottom, right, top) = found
    margin = (top - bottom) / 8
    return page, (
        round(left - margin),
        round(bottom - margin),
        round(right + margin),
        round(top + margin + (top - bottom) * 0.4),
    )


def _tag_widget(writer: IncrementalPdfFileWriter, page: int) -> None:
    """Put the signature's widget into the structure tree, as PDF/UA-1 7.18.4 asks: a ``Form``
    element holding it (``OBJR``) at the end of the document, its ``StructParent`` in the
    ``ParentTree``, and a description (``TU``, ``Alt``). A plain PDF has no tree: nothing to do."""
    root = writer.root
    if "/StructTreeRoot" not in root:
        return
    tree = root["/StructTreeRoot"]
    kids = tree["/K"]
    document = kids[0] if isinstance(kids, generic.ArrayObject) else kids
    parent_tree = tree["/ParentTree"]
    nums = parent_tree["/Nums"]
    key = max((int(nums[i]) for i in range(0, len(nums), 2)), default=-1) + 1
    field_ref = next(
        ref for ref in root["/AcroForm"]["/Fields"] if ref.get_object().get("/T") == FIELD_NAME
    )
    widget = field_ref.get_object()
    page_ref = writer.find_page_for_modification(page)[0]  # type: ignore[no-untyped-call]
    description = generic.TextStringObject("公司电子签章")
    widget["/StructParent"] = _number(key)
    widget["/TU"] = description
    objr = _dictionary(
        {
            "/Type": generic.pdf_name("/OBJR"),
            "/Obj": field_ref,
            "/Pg": page_ref,
        }
    )
    form = _dictionary(
        {
            "/Type": generic.pdf_name("/StructElem"),
            "/S": generic.pdf_name("/Form"),
            "/P": kids.raw_get(0) if isinstance(kids, generic.ArrayObject) else tree.raw_get("/K"),
            "/Pg": page_ref,
            "/Alt": description,
            "/K": generic.ArrayObject([writer.add_object(objr)]),
        }
    )
    form_ref = writer.add_object(form)
    document_kids = document["/K"]
    document_kids.append(form_ref)
    nums.append(_number(key))
    nums.append(form_ref)
    if "/ParentTreeNextKey" in tree:
        tree["/ParentTreeNextKey"] = _number(key + 1)
        writer.update_container(tree)
    writer.update_container(widget)
    writer.update_container(document_kids)
    writer.update_container(nums)


def _number(value: int) -> generic.NumberObject:
    return generic.NumberObject(value)  # type: ignore[no-untyped-call]  # pyHanko: no annotation


def _dictionary(entries: dict[str, Any]) -> generic.DictionaryObject:
    names = {generic.pdf_name(key): value for key, value in entries.items()}
    return generic.DictionaryObject(names)  # type: ignore[no-untyped-call]  # pyHanko: no annotation


def _seal_style() -> TextStampStyle:
    text = TextBoxStyle(
        font=GlyphAccumulatorFactory(str(APPEARANCE_FONT), font_size=7),
        leading=9,
        text_color=SEAL_RED,
    )
    return TextStampStyle(
        stamp_text="电子签章：%(signer)s\n签章时间：%(ts)s",
        timestamp_format="%Y-%m-%d %H:%M:%S UTC",
        text_box_style=text,
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(2, 2, 2, 2),
        ),
        border_width=1,
        border_color=SEAL_RED,
    )


def load_signer(
    path: Path, password: str | None, now: datetime | None = None, *, visible: bool = False
) -> CompanySigner:
    """The signer of the PKCS#12 file at ``path``; :class:`SigningSetupError` if it cannot sign."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningSetupError(f"无法读取签章证书文件 {path}：{exc.strerror or exc}") from exc
    secret = password.encode() if password is not None else None
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as exc:
        raise SigningSetupError(f"签章证书文件 {path} 无法打开：密码错误或不是PKCS#12文件") from exc
    if key is None or cert is None:
        raise SigningSetupError(f"签章证书文件 {path} 中缺少私钥或证书")
    moment = now or datetime.now(UTC)
    if cert.not_valid_after_utc < moment:
        raise SigningSetupError(
            f"签章证书已于{cert.not_valid_after_utc:%Y-%m-%d}过期（{cert.subject.rfc4514_string()}）"
        )
    if cert.not_valid_before_utc > moment:
        raise SigningSetupError(
            f"签章证书自{cert.not_valid_before_utc:%Y-%m-%d}起才生效（{cert.subject.rfc4514_string()}）"
        )
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=secret)
    except Exception as exc:  # noqa: BLE001 - pyHanko reports what it cannot use in many ways
        raise SigningSetupError(f"签章证书文件 {path} 无法用于签章：{exc}") from exc
    if signer is None:
        raise SigningSetupError(f"签章证书文件 {path} 无法用于签章")
    fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    return CompanySigner(signer, fingerprint, cert.subject.rfc4514_string(), visible)
