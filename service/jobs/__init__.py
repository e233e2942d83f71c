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

The package itself imports nothing: a worker process runs :func:`~.render.render_item` and must
not pay for the store, the archive and aiohttp the other modules import (~0.5 CPU-s).
Import from the modules.
"""

WORKER_PRELOAD = ("__main__", "service.jobs.preload")
"""What the render workers' fork server imports before it forks them: the main module (as
multiprocessing's own default does, so that no worker imports it again) and
:mod:`.preload`."""
