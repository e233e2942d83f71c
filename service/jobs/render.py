"""Rendering for the store: the function a worker process runs, and ways to call it.

:func:`render_item` is module-level so a process pool can import it by name; it takes payload
bytes and returns a :class:`RenderOutcome` (picklable, no exceptions for payload problems), so a
bad payload never looks like a crashed worker. A DOCX leaves it cut into parts
(:func:`handed_over`): what it shares with other documents crosses to the server once per
worker, and the store keeps it once. The adapters turn an executor or a worker pool
into the :data:`RenderFn` that :func:`service.jobs.runner.run_worker` takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from service import pipeline
from service.errors import FieldError, PayloadInvalid, PiluError
from service.provenance import library_versions
from service.render.allocator import keep_large_buffers
from service.signing import sign_outputs
from service.store.layouts import Split, split
from service.store.models import Rendered
from service.style import as_pdf_variant, load_house_style
from service.workers.base import Lane
from service.workers.protocol import Shared

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RenderOutcome:
    """Either ``rendered`` or the ``errors`` that stopped it (never both)."""

    rendered: Rendered | None
    errors: tuple[FieldError, ...] = ()


RenderFn = Callable[[bytes], Awaitable[RenderOutcome]]
"""What the runner calls per item: payload bytes in, outcome out. Raising means the render
itself broke (worker crash, timeout) rather than the payload."""


def render_item(raw: bytes, pdf_variant: str | None = None) -> RenderOutcome:
    """Validate, build and render ``raw`` to every format, with the facts for the manifest; the
    PDF of ``pdf_variant`` (``pilu batch --pdf``), else of the house style's.

    Payload and template problems come back as ``errors`` (the same FieldErrors the API
    reports); a writer failure as one error with the writer's code (``render_failed``).
    """
    try:
        payload, document = pipeline.build(raw)
        outputs = pipeline.render_document(
            document, pipeline.FORMATS, source=raw, pdf_variant=as_pdf_variant(pdf_variant)
        )
        certificate = sign_outputs(outputs)
    except PayloadInvalid as exc:
        return RenderOutcome(None, tuple(exc.errors))
    except PiluError as exc:
        return RenderOutcome(None, (FieldError("$", exc.code, exc.message),))
    style = load_house_style(document.meta.house_style)
    rendered = Rendered(
        company_id=payload.company.id,
        report_year=document.meta.report_year,
        kind=payload.kind,
        outputs={fmt: handed_over(data) for fmt, data in outputs.items()},
        filenames={fmt: pipeline.output_filename(payload, fmt) for fmt in outputs},
        template_version=document.meta.template_version,
        house_style=style.name,
        house_style_version=style.version,
        fonts={face.file: face.sha256 for face in style.used_faces()},
        libraries=library_versions(),
        signing_certificate_sha256=certificate,
        period=pipeline.report_period(payload),
    )
    return RenderOutcome(rendered)


def batch_warm_up() -> None:
    """A ``pilu batch`` worker's start: the allocator told to keep large buffers, nothing else.

    :func:`service.pipeline.warm_up` lays out a sample in every house style, both formats, so
    that a server's first request waits for nothing; a batch has no one waiting on its first
    item, which pays the lazy loading of only its own house style (jieba's dictionary, fonts,
    stylesheet, DOCX skeleton: ~1.5 s once per worker) instead of every style's and two sample
    documents' (~3.5 s). The outputs are the same either way.
    """
    keep_large_buffers()


def handed_over(data: bytes) -> bytes | Split:
    """An output as the worker hands it to the store: a ZIP cut into residue and parts
    (:mod:`service.store.layouts`), the parts marked :class:`~service.workers.protocol.Shared`
    so that a worker sends each embedded font to the server once, not with every document;
    other bytes as they are."""
    pieces = split(data)
    if pieces is None:
        return data
    parts = {sha: Shared(part, sha) for sha, part in pieces.parts.items()}
    return Split(pieces.layout, pieces.residue, parts)


def executor_render(executor: Executor) -> RenderFn:
    """Run :func:`render_item` in ``executor`` (a ``ProcessPoolExecutor``, or a one-thread
    ``ThreadPoolExecutor`` in tests; WeasyPrint is not known to be thread-safe, so not more)."""

    async def render(raw: bytes) -> RenderOutcome:
        return await asyncio.get_running_loop().run_in_executor(executor, render_item, raw)

    return render


class _PoolLike(Protocol):
    async def run(
        self, fn: Callable[..., T], *args: Any, timeout: float, lane: Lane = "request"
    ) -> T: ...


def pool_render(
    pool: _PoolLike,
    timeout_s: float,
    fn: Callable[[bytes], RenderOutcome] | None = None,
    *,
    lane: Lane = "request",
) -> RenderFn:
    """Run :func:`render_item` (or ``fn``, module-level, for tests) on a worker pool
    (:class:`service.workers.Pool`: the server's, or the one ``pilu batch`` starts).

    The pool's ``RenderTimeout`` fails the item, ``WorkerCrashed`` tries it again (up to the
    runner's ``max_attempts``, then ``worker_lost``); ``Overloaded``,
    ``ShuttingDown`` and ``NotReady`` give it back to the queue (see the runner). The server
    passes ``lane="batch"`` (its requests go first and keep a worker of their own while they
    come); ``pilu batch``, which serves no request, renders on every worker."""
    task = fn or render_item

    async def render(raw: bytes) -> RenderOutcome:
        return await pool.run(task, raw, timeout=timeout_s, lane=lane)

    return render
