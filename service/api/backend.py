"""What the HTTP layer asks of the rest of the service, in one place.

Handlers never import a renderer: they call these functions, the heavy ones in a worker. Tests
pass their own :class:`Backend` (module-level functions, so workers can import them) to exercise
timeouts, crashes and queueing without real documents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Backend:
    render: Callable[[bytes, str, str | None], tuple[bytes, str]]
    """Runs in a worker: ``(raw payload, format, PDF variant or None)`` → ``(document bytes,
    file name)``."""
    preview: Callable[[bytes], dict[str, Any]]
    """Runs in a worker: validate and return what will be printed; raises PayloadInvalid."""
    company_id: Callable[[bytes], str]
    """Runs on the event loop, so it must be cheap: the payload's company id, for access checks."""
    payload_schema: Callable[[], dict[str, Any]]
    """The payload's JSON Schema (2020-12), called once at start."""
    warm_up: Callable[[], None] | None
    """Runs once in each worker before its first task (fonts, templates); ``None`` for nothing."""
    formats: tuple[str, ...]
    """Output formats offered, the first being the default: ``("pdf", "docx", "zip")``."""
    render_item: Callable[[bytes], Any] | None = None
    """Runs in a worker: raw payload → :class:`service.jobs.render.RenderOutcome` (every format
    and the facts of the manifest), for stored documents and batch items. ``None``: the real
    :func:`service.jobs.render.render_item`."""
    preload: tuple[str, ...] = ()
    """Modules the workers' fork server imports before it forks them (what they load is
    shared by every worker: :mod:`service.jobs.preload`)."""

    def item_renderer(self) -> Callable[[bytes], Any]:
        if self.render_item is not None:
            return self.render_item
        from service.jobs.render import render_item

        return render_item


def default_backend() -> Backend:
    """The real pipeline."""
    from service import pipeline
    from service.jobs import WORKER_PRELOAD, tasks

    return Backend(
        render=tasks.render,
        preview=tasks.preview,
        company_id=pipeline.company_id,
        payload_schema=pipeline.payload_json_schema,
        warm_up=pipeline.warm_up,
        formats=tasks.OUTPUT_FORMATS,
        render_item=None,
        preload=WORKER_PRELOAD,
    )
