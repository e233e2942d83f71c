"""Peer: LibreOffice turning DOCX into PDF, and "the LibreOffice pipeline" (template fill + UNO).

- :func:`cold_convert`: one ``soffice --headless --convert-to pdf`` process per document.
- :class:`UnoConverter`: a resident soffice driven over UNO by ``uno_server.py`` (run by Debian's
  /usr/bin/python3, the only Python python3-uno binds to), one job at a time.
- The pipeline a LibreOffice shop would run: fill a DOCX template with docxtpl, then convert it
  over UNO. The template is made by Pilu's own DOCX writer from the same document with every
  text replaced by a Jinja placeholder (same styles, numbering, tables, page setup), without
  embedded fonts: LibreOffice finds the same Fandol faces through a fontconfig file that adds
  ``fonts/`` (the setup such a shop would have: fonts installed on the server).

LibreOffice gets ``fonts/`` through ``FONTCONFIG_FILE`` in every mode, so the DOCX Pilu writes
(fonts embedded) and the filled template (fonts by name) both print in the Fandol faces.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import procs

ROOT = Path(__file__).resolve().parents[2]
FONTS = ROOT / "fonts"
UNO_SERVER = Path(__file__).with_name("uno_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def soffice_binary() -> str | None:
    return shutil.which("soffice")


def fontconfig_env(workdir: Path) -> dict[str, str]:
    """Environment whose fontconfig sees the system fonts plus ``fonts/``."""
    conf = workdir / "fonts.conf"
    cache = workdir / "fontconfig-cache"
    cache.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{FONTS}</dir>\n  <cachedir>{cache}</cachedir>\n</fontconfig>\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["FONTCONFIG_FILE"] = str(conf)
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    return env


def cold_convert(
    docx: Path, outdir: Path, profile: Path, env: dict[str, str], timeout: float = 120
) -> float:
    """One ``soffice --convert-to pdf`` process for ``docx``; its wall time in seconds."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            "soffice",
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(docx),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        proc.wait(timeout)
    finally:
        procs.stop_group(proc, grace=2)
    seconds = time.perf_counter() - started
    pdf = outdir / (docx.stem + ".pdf")
    if proc.returncode != 0 or not pdf.exists():
        raise RuntimeError(f"soffice --convert-to failed for {docx} (exit {proc.returncode})")
    return seconds


class UnoConverter:
    """A resident soffice (its own profile and pipe) behind ``uno_server.py``."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str, timeout: float = 120) -> None:
        self.timeout = timeout
        profile = workdir / f"profile-{name}"
        pipe = f"pilu_bench_{os.getpid()}_{name}"
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(UNO_SERVER), pipe, str(profile)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(workdir / f"uno-{name}.log", "wb"),  # noqa: SIM115
            env=env,
            start_new_session=True,
        )
        ready = self._read()
        if not ready.get("ready"):
            self.close()
            raise RuntimeError(f"resident soffice did not start: {ready}")

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("uno_server.py exited")
        return json.loads(line)

    def convert(self, docx: Path, pdf: Path) -> float:
        """Convert over UNO; the round trip in seconds."""
        assert self.proc.stdin is not None
        started = time.perf_counter()
        self.proc.stdin.write((json.dumps({"in": str(docx), "out": str(pdf)}) + "\n").encode())
        self.proc.stdin.flush()
        reply = self._read()
        if not reply.get("ok"):
            raise RuntimeError(f"UNO conversion failed: {reply.get('error')}")
        return time.perf_counter() - started

    def cpu_seconds(self) -> float:
        """CPU time of the helper and its soffice so far."""
        return procs.tree_cpu_seconds(self.proc.pid)

    def memory_bytes(self) -> int:
        """PSS of the helper and its soffice process tree."""
        return procs.tree_pss_bytes(self.proc.pid)

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write(b'{"stop": true}\n')
                self.proc.stdin.flush()
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                pass
        procs.stop_group(self.proc, grace=5)


# --- template fill (docxtpl) -----------------------------------------------------------------


def _shape(document: Any) -> tuple[Any, ...]:
    """What a template fixes: block kinds, heading levels, paragraph roles, table shapes."""
    from service.model.document import Heading, Paragraph

    out: list[Any] = [document.title.count("\n"), document.signature is not None]
    for block in document.blocks:
        if isinstance(block, Heading):
            out.append(("h", block.level))
        elif isinstance(block, Paragraph):
            out.append(("p", block.role))
        else:
            out.append(("t", len(block.columns), tuple(r.kind for r in block.rows)))
    return tuple(out)


def template_and_context(document: Any) -> tuple[Any, dict[str, Any]]:
    """``document`` with every text a placeholder, and the context that fills it back."""
    from service.model.document import Block, Heading, Paragraph, Signature, Table, TableRow

    context: dict[str, Any] = {"t": document.title.split("\n"), "b": [], "c": []}
    blocks: list[Block] = []
    for block in document.blocks:
        if isinstance(block, Heading | Paragraph):
            blocks.append(dataclasses.replace(block, text=f"{{{{ b[{len(context['b'])}] }}}}"))
            context["b"].append(block.text)
        else:
            assert isinstance(block, Table)
            t = len(context["c"])
            cells = [block.caption, *(c.title for c in block.columns)]
            rows = []
            for row in block.rows:
                names = []
                for text in row.cells:
                    names.append(f"{{{{ c[{t}][{len(cells)}] }}}}")
                    cells.append(text)
                rows.append(TableRow(tuple(names), row.kind))
            context["c"].append(cells)
            blocks.append(
                dataclasses.replace(block, caption=f"{{{{ c[{t}][0] }}}}", rows=tuple(rows))
            )
    title = "\n".join(f"{{{{ t[{i}] }}}}" for i in range(len(context["t"])))
    signature = None
    if document.signature:
        signature = Signature("{{ s[0] }}", "{{ s[1] }}")
        context["s"] = [document.signature.signer, document.signature.date_text]
    template_doc = dataclasses.replace(
        document, title=title, blocks=tuple(blocks), signature=signature
    )
    return template_doc, context


class TemplateFill:
    """docxtpl filling a template made once per document shape (fonts by name, not embedded)."""

    def __init__(self) -> None:
        self._templates: dict[tuple[Any, ...], bytes] = {}

    def template_for(self, document: Any, style: Any) -> tuple[bytes, dict[str, Any]]:
        from service.render.docx import render_docx

        template_doc, context = template_and_context(document)
        key = _shape(document)
        if key not in self._templates:
            no_fonts = style.model_copy(
                update={"docx": style.docx.model_copy(update={"embed_fonts": "none"})}
            )
            self._templates[key] = render_docx(template_doc, no_fonts)
        return self._templates[key], context

    @staticmethod
    def fill(template: bytes, context: dict[str, Any]) -> bytes:
        from docxtpl import DocxTemplate

        doc = DocxTemplate(io.BytesIO(template))
        doc.render(context, autoescape=True)
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def fill_to_file(template: bytes, context: dict[str, Any], path: str) -> tuple[float, float]:
    """For a worker process: fill, write ``path``; wall and CPU seconds of it."""
    started, cpu = time.perf_counter(), time.process_time()
    Path(path).write_bytes(TemplateFill.fill(template, context))
    return time.perf_counter() - started, time.process_time() - cpu


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="pilu-bench-lo-"))
