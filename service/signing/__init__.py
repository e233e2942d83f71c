"""The company's signature on every PDF: PAdES B-B with pyHanko, after rendering, in the worker.

Configured by ``signing_pkcs12`` and ``signing_password`` (:mod:`service.settings`). The
certificate is read and checked when the service starts (:func:`signer_from_settings` in
``pilu serve``): an unreadable file, a wrong password, a file without a key, or a certificate
that is expired or not yet valid stops the service there, with a message saying which, instead
of failing the first render. Workers read it again from the same settings
(:func:`process_signer`). A signature is an incremental update after the PDF/A-3b file, so the
unsigned bytes stay as rendered; signed bytes differ on every render (the signing time).

The signature is invisible unless ``signing_visible`` is set: then its field is drawn at the 署名,
where the PDF writer recorded the signature block (the named destination
:data:`~service.formats.SIGNATURE_DESTINATION`; the layout decides where, not this module),
as a seal is pressed on the 署名 and 日期 (GB/T 9704 §7.3.5.1): a red frame around the block and
the line above it, with the signer and the signing time in that line, in an embedded font
(PDF/A refuses pyHanko's default Courier, which it does not embed). In a tagged PDF the widget
joins the structure tree in the same update (:func:`.pades._tag_widget`); pyHanko does not do it.

This module decides whether to sign; :mod:`.pades` signs, and is imported only once a
certificate is configured, so a worker that signs nothing does not import pyHanko.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from service.settings import Settings

if TYPE_CHECKING:
    from service.signing.pades import CompanySigner


class SigningSetupError(ValueError):
    """The configured company certificate cannot sign; the message says why, in Chinese."""


def signer_from_settings(settings: Settings) -> CompanySigner | None:
    """The company signer the settings configure, or ``None`` when signing is off."""
    if settings.signing_pkcs12 is None:
        return None
    # Imported here: pyHanko costs ~0.6 CPU-s to import, which a process that signs nothing
    # (no certificate configured) never pays.
    from service.signing.pades import load_signer

    password = settings.signing_password
    return load_signer(
        settings.signing_pkcs12,
        password.get_secret_value() if password is not None else None,
        visible=settings.signing_visible,
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
