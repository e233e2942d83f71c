"""The ``pilu`` command line: validate and render payloads, list templates, serve the API."""

from __future__ import annotations

import enum
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.errors import PayloadInvalid, PiluError

if TYPE_CHECKING:
    from service.settings import Settings
    from service.signing.pades import CompanySigner


class PdfChoice(enum.StrEnum):
    """The ``--pdf`` values (:data:`service.style.PDF_VARIANTS`)."""

    archival = "pdf/a-3b"
    plain = "plain"


app = typer.Typer(
    name="pilu",
    help="Consumer-protection disclosures (消费者权益保护工作重大信息披露) as official DOCX and PDF.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

PayloadArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Payload JSON file.")
]


def _print_errors(exc: PiluError) -> None:
    from service.readback import ReadBackFailed

    if isinstance(exc, PayloadInvalid | ReadBackFailed):
        table = Table(title=exc.message, show_lines=False)
        where = "位置 (JSON path)" if isinstance(exc, PayloadInvalid) else "位置"
        table.add_column(where, style="cyan", overflow="fold")
        table.add_column("代码", style="magenta", overflow="fold")
        table.add_column("说明", overflow="fold")
        for e in exc.errors:
            table.add_row(e.path, e.code, e.message)
        err_console.print(table)
    else:
        err_console.print(f"[red]{exc.code}[/red]: {exc.message}")


@app.command()
def validate(payload: PayloadArg) -> None:
    """Check a payload and print every error; exit 1 when there is any."""
    from service import pipeline

    try:
        preview = pipeline.preview(payload.read_bytes())
    except PiluError as exc:
        _print_errors(exc)
        raise typer.Exit(1) from None
    console.print(f"[green]OK[/green] {preview['title']} ({preview['template_version']})")


@app.command()
def render(
    payload: PayloadArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write the documents into.")
    ] = Path("."),
    format: Annotated[
        str, typer.Option("--format", "-f", help="Comma-separated formats: pdf, docx.")
    ] = "pdf,docx",
    pdf: Annotated[
        PdfChoice | None,
        typer.Option(
            "--pdf",
            help="PDF variant: pdf/a-3b (archival, tagged, payload attached) or plain "
            "(default: the house style's, pdf/a-3b).",
        ),
    ] = None,
) -> None:
    """Render a payload to PDF and/or DOCX, named by company, year and report.

    With a company certificate configured (PILU_SIGNING_PKCS12), the PDF is signed as the
    service signs it; a certificate that cannot sign stops the command before rendering."""
    from service import pipeline
    from service.style import as_pdf_variant

    formats = tuple(f.strip() for f in format.split(",") if f.strip())
    unknown = [f for f in formats if f not in pipeline.FORMATS]
    if unknown or not formats:
        err_console.print(
            f"[red]unknown format[/red]: {', '.join(unknown) or '(none)'}; use pdf, docx"
        )
        raise typer.Exit(2)
    signer = _company_signer() if "pdf" in formats else None
    try:
        raw = payload.read_bytes()
        parsed, document = pipeline.build(raw)
        variant = as_pdf_variant(pdf.value if pdf is not None else None)
        outputs = pipeline.render_document(document, formats, source=raw, pdf_variant=variant)
    except PiluError as exc:
        _print_errors(exc)
        raise typer.Exit(1) from None
    if signer is not None:
        outputs["pdf"] = signer.sign(outputs["pdf"])
    out.mkdir(parents=True, exist_ok=True)
    for fmt, data in outputs.items():
        target = out / pipeline.output_filename(parsed, fmt)
        target.write_bytes(data)
        console.print(f"{target}  [dim]{len(data):,} bytes[/dim]")


def _company_signer() -> CompanySigner | None:
    """The configured company signer; exit 2 with the reason when the settings or the
    certificate are unusable (as ``pilu serve`` stops at start)."""
    from pydantic import ValidationError

    from service import signing
    from service.settings import Settings

    try:
        return signing.signer_from_settings(Settings.load())
    except (ValidationError, FileNotFoundError) as exc:
        err_console.print(f"pilu: bad settings (see docs/configuration.md):\n{exc}")
    except signing.SigningSetupError as exc:
        err_console.print(f"pilu: 签章证书不可用（PILU_SIGNING_PKCS12）：{exc}")
    raise typer.Exit(2)


def _start_fork_server_early() -> Settings | None:
    """Start the render workers' fork server before this process imports the batch's modules:
    its preload (~2 CPU-s, :mod:`service.jobs.preload`) then runs on the other core while this
    process starts. The settings it read, for the batch; ``None`` if they do not load, which
    the batch then reports."""
    from pydantic import ValidationError

    from service.jobs import WORKER_PRELOAD
    from service.settings import Settings
    from service.workers.pool import start_fork_server

    try:
        settings = Settings.load()
    except (ValidationError, FileNotFoundError):
        return None
    if settings.worker_start_method == "forkserver":
        start_fork_server(WORKER_PRELOAD)
    return settings


@app.command()
def batch(
    input: Annotated[
        Path,
        typer.Argument(
            exists=True, help="A folder of payload .json files, or an NDJSON / JSON-array file."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the documents and the manifest.")
    ],
    workers: Annotated[
        int,
        typer.Option(
            "--workers", "-w", min=1, help="Render processes (default: the number of cores)."
        ),
    ] = os.cpu_count() or 1,
    pdf: Annotated[
        PdfChoice | None,
        typer.Option(
            "--pdf", help="PDF variant of every item: pdf/a-3b or plain (default: house style's)."
        ),
    ] = None,
) -> None:
    """Render many payloads, resumably: a second run skips what is done. Exit 1 if any item failed.

    With a company certificate configured (PILU_SIGNING_PKCS12), every PDF is signed."""
    settings = _start_fork_server_early()
    from service.jobs.batch_cli import run_batch
    from service.style import as_pdf_variant

    variant = as_pdf_variant(pdf.value if pdf is not None else None)
    raise typer.Exit(run_batch(input, out, workers, settings=settings, pdf_variant=variant))


@app.command("import-docx")
def import_docx(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The edited DOCX file."),
    ],
    base: Annotated[
        Path,
        typer.Option(
            "--base",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The payload JSON of the version the DOCX was downloaded as.",
        ),
    ],
    best_effort: Annotated[
        bool,
        typer.Option("--best-effort", help="Read a DOCX without Pilu's marks as well as it can."),
    ] = False,
) -> None:
    """Read an edited DOCX back: print its payload (JSON) on stdout, or every error and exit 1."""
    from service.readback import read_back

    try:
        result = read_back(file.read_bytes(), base.read_bytes(), best_effort=best_effort)
    except PiluError as exc:
        _print_errors(exc)
        raise typer.Exit(1) from None
    for warning in result.warnings:
        err_console.print(f"[yellow]{warning.path}[/yellow] {warning.code}: {warning.message}")
    typer.echo(result.payload.decode(), nl=False)


@app.command()
def schema() -> None:
    """Print the payload JSON Schema (as published in docs/payload.schema.json)."""
    from service.kinds import payload_json_schema

    typer.echo(json.dumps(payload_json_schema(), ensure_ascii=False, indent=2))


@app.command()
def templates() -> None:
    """List report templates, their versions and the report years each covers."""
    from service import TEMPLATES_DIR
    from service.report import template_versions

    table = Table(title="Report templates")
    for column in ("kind", "version", "years", "regulator", "rules cited"):
        table.add_column(column, overflow="fold")
    for versions_file in sorted(TEMPLATES_DIR.glob("*/versions.toml")):
        for v in template_versions(versions_file.parent.name):
            table.add_row(v.kind, v.id, v.years, v.regulator, "\n".join(v.rules))
    console.print(table)


@app.command()
def kinds() -> None:
    """List the report kinds, each with its template versions and the report years they cover."""
    from service.kinds import KINDS
    from service.report import template_versions

    table = Table(title="Report kinds")
    for column in ("kind", "名称", "template versions (years)", "figures"):
        table.add_column(column, overflow="fold")
    for kind in KINDS.values():
        if kind.narrative:
            versions = "\n".join(f"{v.id}: {v.years}" for v in template_versions(kind.name))
        else:
            versions = "GB/T 9704-2012"
        table.add_row(kind.name, kind.label, versions, str(len(kind.figures)))
    console.print(table)


@app.command()
def sample(
    kind: Annotated[str, typer.Argument(help="A report kind, as `pilu kinds` lists them.")],
) -> None:
    """Print a valid sample payload of KIND (JSON), to start a payload from."""
    from service.kinds import KINDS

    if kind not in KINDS:
        err_console.print(f"[red]unknown kind[/red]: {kind}; use {', '.join(KINDS)}")
        raise typer.Exit(2)
    typer.echo(json.dumps(KINDS[kind].sample, ensure_ascii=False, indent=2))


@app.command()
def figures(
    kind: Annotated[str | None, typer.Argument(help="A report kind (default: all).")] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Rewrite the figures tables of docs/payload.md.")
    ] = False,
) -> None:
    """Print the figures a paragraph may quote (the kind's figures registry), as Markdown."""
    from service import PROJECT_ROOT
    from service.kinds import KINDS
    from service.kinds.docs import figures_table, updated_payload_doc

    if write:
        doc = PROJECT_ROOT / "docs" / "payload.md"
        doc.write_text(updated_payload_doc(doc.read_text(encoding="utf-8")), encoding="utf-8")
        return
    for name, k in KINDS.items():
        if kind in (None, name) and k.figures:
            typer.echo(f"{name}:\n\n{figures_table(k)}")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from PILU_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from PILU_PORT, 8080).")] = None,
) -> None:
    """Start the HTTP API."""
    from service.server import serve as run_server

    run_server(host, port)


@app.command()
def worker() -> None:
    """Render batch items only, with no HTTP: a node for hosts that only render (settings as
    for serve: PILU_DATABASE_URL, PILU_WORKERS, ...)."""
    from service.server import work

    work()


if __name__ == "__main__":  # pragma: no cover
    app()
