"""Batches and the job runner, on top of :mod:`service.store`.

- :mod:`.parse`: batch input (JSON array, NDJSON, a folder) → items, with per-line errors;
- :mod:`.render`: :func:`~.render.render_item`, the function a worker process runs per item;
- :mod:`.tasks`: the functions a worker runs for the API's ``/v1/render`` and ``/v1/validate``;
- :mod:`.attempt`: one attempt at an item, whichever queue runs it;
- :mod:`.runner`: :func:`~.runner.run_worker`, the local queue (SQLite): takes, renders, stores;
- :mod:`.engine`: :class:`~.engine.Engine`, batches on PostgreSQL as procrastinate jobs;
- :mod:`.webhook`: the signed completion call;
- :mod:`.archive`: a batch as a streamed ZIP with a CSV and JSON manifest;
- :mod:`.batch_cli`: ``pilu batch`` (:func:`~.batch_cli.run_batch`).
"""

from service.jobs.archive import archive_filename, iter_archive, open_archive
from service.jobs.attempt import ITEM_SCOPE
from service.jobs.parse import ParsedBatch, item_from_bytes, parse_batch, parse_folder
from service.jobs.render import RenderFn, RenderOutcome, executor_render, pool_render, render_item
from service.jobs.runner import RenderPoolBroken, WorkerStats, run_worker

__all__ = [
    "ITEM_SCOPE",
    "ParsedBatch",
    "RenderFn",
    "RenderOutcome",
    "RenderPoolBroken",
    "WorkerStats",
    "archive_filename",
    "executor_render",
    "item_from_bytes",
    "iter_archive",
    "open_archive",
    "parse_batch",
    "parse_folder",
    "pool_render",
    "render_item",
    "run_worker",
]
