"""The company signature: a throwaway CA and company certificate (cryptography), PDFs signed in
the worker's path, verified with pyHanko's validator and poppler's pdfsig; certificates that
cannot sign stop the service at start."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from typer.testing import CliRunner

from service import PROJECT_ROOT, pipeline, signing
from service.cli import app
from service.jobs.render import render_item
from service.signing import pades
from service.store.models import Manifest
from tests.conftest import EXAMPLES
from tests.render.pdf_conformance import archival_problems, signature_destination

PASSWORD = "口令-123"
NOW = datetime.now(UTC)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Pilu 测试根证书"))
        .issuer_name(_name("Pilu 测试根证书"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def company_p12(
    tmp_path: Path, ca: tuple[rsa.RSAPrivateKey, x509.Certificate], *, days: tuple[int, int]
) -> tuple[Path, x509.Certificate]:
    """A company certificate valid from ``days[0]`` to ``days[1]`` days from now, as PKCS#12."""
    ca_key, ca_cert = ca
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("小康人寿保险有限责任公司"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + timedelta(days=days[0]))
        .not_valid_after(NOW + timedelta(days=days[1]))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"company",
        key,
        cert,
        [ca_cert],
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    path = tmp_path / f"company{days}.p12"
    path.write_bytes(data)
    return path, cert


def asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@pytest.fixture(scope="module")
def ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return make_ca()


def configure(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Name the certificate at ``path`` (with :data:`PASSWORD`) in the service's settings."""
    monkeypatch.setenv("PILU_SIGNING_PKCS12", str(path))
    monkeypatch.setenv("PILU_SIGNING_PASSWORD", PASSWORD)


@pytest.fixture
def configured(
    tmp_path: Path, ca: tuple[rsa.RSAPrivateKey, x509.Certificate], monkeypatch: pytest.MonkeyPatch
) -> Iterator[x509.Certificate]:
    path, cert = company_p12(tmp_path, ca, days=(-1, 365))
    configure(monkeypatch, path)
    monkeypatch.delenv("PILU_SIGNING_VISIBLE", raising=False)
    signing.process_signer.cache_clear()
    yield cert
    signing.process_signer.cache_clear()


@pytest.fixture
def visible_signer(
    tmp_path: Path, ca: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> pades.CompanySigner:
    """A signer that draws the signature, from a certificate valid now."""
    path, _ = company_p12(tmp_path, ca, days=(-1, 365))
    return pades.load_signer(path, PASSWORD, visible=True)


def test_a_stored_render_is_signed_and_the_manifest_names_the_certificate(
    configured: x509.Certificate, ca: tuple[rsa.RSAPrivateKey, x509.Certificate], tmp_path: Path
) -> None:
    outcome = render_item((EXAMPLES / "xiaokang-life-2023.json").read_bytes())
    assert outcome.rendered is not None
    pdf = outcome.rendered.output_bytes("pdf")
    fingerprint = configured.fingerprint(hashes.SHA256()).hex()
    manifest = Manifest.of(outcome.rendered, "0" * 64)
    assert manifest.as_dict()["signing_certificate_sha256"] == fingerprint
    assert Manifest.from_dict(manifest.as_dict()) == manifest

    embedded, listing = assert_valid(pdf, ca, tmp_path)
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert "ETSI.CAdES.detached" in listing or "PAdES" in listing, listing
    # the signed file keeps the archival structure (an incremental update on top of it)
    assert archival_problems(pdf) == []


def test_without_a_certificate_nothing_is_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PILU_SIGNING_PKCS12", raising=False)
    signing.process_signer.cache_clear()
    outcome = render_item((EXAMPLES / "kangning-property-2022.json").read_bytes())
    assert outcome.rendered is not None
    assert b"/ByteRange" not in outcome.rendered.output_bytes("pdf")
    assert "signing_certificate_sha256" not in Manifest.of(outcome.rendered, "0").as_dict()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("expired", "过期"),
        ("not yet valid", "起才生效"),
        ("wrong password", "密码错误"),
        ("missing", "无法读取"),
        ("not pkcs12", "密码错误或不是PKCS#12"),
    ],
)
def test_a_certificate_that_cannot_sign_is_refused(
    tmp_path: Path, ca: tuple[rsa.RSAPrivateKey, x509.Certificate], case: str, message: str
) -> None:
    password = PASSWORD
    if case == "expired":
        path, _ = company_p12(tmp_path, ca, days=(-400, -1))
    elif case == "not yet valid":
        path, _ = company_p12(tmp_path, ca, days=(10, 400))
    elif case == "wrong password":
        path, _ = company_p12(tmp_path, ca, days=(-1, 365))
        password = "wrong"
    elif case == "missing":
        path = tmp_path / "nothing.p12"
    else:
        path = tmp_path / "text.p12"
        path.write_text("not a certificate")
    with pytest.raises(signing.SigningSetupError, match=message):
        pades.load_signer(path, password)


def test_the_service_stops_at_start_on_an_expired_certificate(
    tmp_path: Path, ca: tuple[rsa.RSAPrivateKey, x509.Certificate]
) -> None:
    path, _ = company_p12(tmp_path, ca, days=(-400, -1))
    env = {"PATH": "/usr/bin:/bin", "PILU_SIGNING_PKCS12": str(path),
           "PILU_SIGNING_PASSWORD": PASSWORD, "PILU_DATA_DIR": str(tmp_path),
           "PILU_WORKERS": "0", "PYTHONPATH": str(PROJECT_ROOT)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "签章证书" in result.stderr and "过期" in result.stderr, result.stderr


def test_a_visible_signature_stands_at_the_signature_block(
    configured: x509.Certificate,
    ca: tuple[rsa.RSAPrivateKey, x509.Certificate],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PILU_SIGNING_VISIBLE", "true")
    signing.process_signer.cache_clear()
    outcome = render_item((EXAMPLES / "kangning-property-2022.json").read_bytes())
    assert outcome.rendered is not None
    pdf = outcome.rendered.output_bytes("pdf")
    assert_valid(pdf, ca, tmp_path)
    assert archival_problems(pdf) == [], "the signed file stays PDF/A-3b (fonts, annotation)"
    with pikepdf.open(io.BytesIO(pdf)) as reader:
        last = reader.pages[-1]
        (widget,) = [a for a in last.obj.get("/Annots") or [] if a.get("/FT") == "/Sig"]
        page, _, block = signature_destination(reader)
        assert page == len(reader.pages) - 1
        rect = [float(v) for v in widget.Rect]
        assert str(widget.T) == pades.FIELD_NAME
        assert rect[0] < block[0] and rect[1] < block[1] and rect[2] > block[2]
        assert block[3] < rect[3] < block[3] + (block[3] - block[1]), "the line above the 署名"
        appearance = widget.AP.N.read_bytes()
    assert appearance.strip(), "the field draws something"
    png = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "60", "-f", str(len(reader.pages)), "-singlefile", "-png",
         str(tmp_path / "signed.pdf"), str(png)],
        check=True,
    )  # fmt: skip
    assert png.with_suffix(".png").stat().st_size > 0


def test_a_visible_signature_without_a_signature_block_is_invisible(
    visible_signer: pades.CompanySigner,
    ca: tuple[rsa.RSAPrivateKey, x509.Certificate],
    tmp_path: Path,
) -> None:
    raw = (EXAMPLES / "xiaokang-life-2023.json").read_bytes()
    _, document = pipeline.build(raw)
    assert document.signature is None
    pdf = visible_signer.sign(pipeline.render_document(document, ("pdf",), raw)["pdf"])
    assert_valid(pdf, ca, tmp_path)
    with pikepdf.open(io.BytesIO(pdf)) as reader:
        (field,) = reader.Root.AcroForm.Fields
        assert [float(v) for v in field.Rect] == [0, 0, 0, 0]


def test_a_plain_pdf_signs_visibly_too(
    visible_signer: pades.CompanySigner,
    ca: tuple[rsa.RSAPrivateKey, x509.Certificate],
    tmp_path: Path,
) -> None:
    raw = (EXAMPLES / "kangning-property-2022.json").read_bytes()
    _, document = pipeline.build(raw)
    plain = pipeline.render_document(document, ("pdf",), raw, pdf_variant="plain")["pdf"]
    pdf = visible_signer.sign(plain)
    assert_valid(pdf, ca, tmp_path)
    with pikepdf.open(io.BytesIO(pdf)) as reader:
        (field,) = reader.Root.AcroForm.Fields
        assert float(field.Rect[2]) > float(field.Rect[0])


def test_pilu_render_signs_with_the_configured_certificate(
    configured: x509.Certificate, ca: tuple[rsa.RSAPrivateKey, x509.Certificate], tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["render", str(EXAMPLES / "kangning-property-2022.json"), "-o", str(tmp_path), "-f", "pdf"],
    )
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("*.pdf")
    assert_valid(path.read_bytes(), ca, tmp_path)


@pytest.mark.parametrize("command", ["render", "batch"])
def test_pilu_render_and_batch_stop_on_an_expired_certificate(
    tmp_path: Path,
    ca: tuple[rsa.RSAPrivateKey, x509.Certificate],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    path, _ = company_p12(tmp_path, ca, days=(-400, -1))
    configure(monkeypatch, path)
    source = EXAMPLES / "kangning-property-2022.json"
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [command, str(source), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "签章证书" in result.output and "过期" in result.output, result.output
    assert not list(out.glob("*.pdf")), "nothing rendered"


def assert_valid(
    pdf: bytes, ca: tuple[rsa.RSAPrivateKey, x509.Certificate], tmp_path: Path
) -> tuple[EmbeddedPdfSignature, str]:
    """The signature is intact, valid and trusted for pyHanko, and valid for pdfsig; returns it
    and pdfsig's listing for a test's further checks."""
    reader = PdfFileReader(io.BytesIO(pdf))
    (embedded,) = reader.embedded_signatures
    status = validate_pdf_signature(
        embedded, ValidationContext(trust_roots=[asn1_certificate(ca[1])], allow_fetching=False)
    )
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(
        ["pdfsig", "-nocert", str(path)], capture_output=True, text=True, check=False
    ).stdout
    assert "Signature Validation: Signature is Valid." in listing, listing
    return embedded, listing


def test_the_checks_fail_a_visible_signature_left_out_of_the_structure_tree(
    visible_signer: pades.CompanySigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (EXAMPLES / "kangning-property-2022.json").read_bytes()
    pdf = pipeline.render_payload(raw, ("pdf",))["pdf"]
    assert archival_problems(visible_signer.sign(pdf)) == []
    monkeypatch.setattr(pades, "_tag_widget", lambda writer, page: None)
    problems = " ".join(archival_problems(visible_signer.sign(pdf)))
    assert "UA 7.18.1" in problems and "UA 7.18.4" in problems, problems
