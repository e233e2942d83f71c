"""The company's signature on every PDF: PAdES B-B with pyHanko, after rendering, in the worker.

Configured by ``signing_pkcs12`` and ``signing_password`` (:mod:`service.settings`). The
certificate is read and checked when the service starts (:func:`signer_from_settings` in
``pilu serve``): an unreadable file, a wrong password, a file without a key, or a certificate
that is expired or not yet valid stops the service there, with a message saying which, instead
of failing the first render. Workers read it again from the same settings
(:func:`process_signer`). A signature is an incremental update after the PDF/A-3b file, so the
unsigned bytes stay as rendered; signed bytes differ on every render (the signing time).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from service.settings import Settings

FIELD_NAME = "公司签章"


class SigningSetupError(ValueError):
    """The configured company certificate cannot sign; the message says why, in Chinese."""


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

    def sign(self, pdf: bytes) -> bytes:
        """``pdf`` with an invisible PAdES B-B signature appended as an incremental update."""
        writer = _ArchivalWriter(BytesIO(pdf))
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
        )
        out = signers.PdfSigner(meta, signer=self.signer).sign_pdf(writer)
        signed: bytes = out.getvalue()
        return signed


def load_signer(path: Path, password: str | None, now: datetime | None = None) -> CompanySigner:
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
    return CompanySigner(signer, fingerprint, cert.subject.rfc4514_string())


def signer_from_settings(settings: Settings) -> CompanySigner | None:
    """The company signer the settings configure, or ``None`` when signing is off."""
    if settings.signing_pkcs12 is None:
        return None
    password = settings.signing_password
    return load_signer(
        settings.signing_pkcs12, password.get_secret_value() if password is not None else None
    )


@cache
def process_signer() -> CompanySigner | None:
    """This process's signer, from the environment's settings, read once (in a worker)."""
    return signer_from_settings(Settings.load())


def sign_outputs(outputs: dict[str, bytes]) -> str | None:
    """Sign ``outputs["pdf"]`` in place when a certificate is configured; its fingerprint."""
    signer = process_signer()
    if signer is None or "pdf" not in outputs:
        return None
    outputs["pdf"] = signer.sign(outputs["pdf"])
    return signer.fingerprint
