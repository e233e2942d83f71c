"""A runner node for the durability tests: ``python -m tests.jobs.runner_main …``.

Opens its own store, renders with the real pipeline in one worker thread of its own process (so
SIGKILL takes the whole node down, nothing outlives it), works on one batch until it is finished
and then, with ``--report``, reads every document of the batch back through its store, checks
each output against its manifest hash and writes a JSON report. Prints ``READY`` once warm.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from service import pipeline
from service.jobs.render import executor_render
from service.jobs.runner import run_worker
from service.store import open_store
from service.store.models import sha256_hex


async def main(args: argparse.Namespace) -> int:
    executor = ThreadPoolExecutor(max_workers=1)
    await asyncio.get_running_loop().run_in_executor(executor, pipeline.warm_up)
    async with await open_store(args.database_url or None, Path(args.data_dir)) as store:
        print("READY", flush=True)
        stats = await run_worker(
            store,
            executor_render(executor),
            concurrency=args.concurrency,
            lease_seconds=args.lease,
            worker_id=args.worker_id,
            batch_id=args.batch,
            stop_when_finished=True,
            poll_interval_s=0.1,
            webhooks=False,
        )
        if args.report:
            checked = {}
            for item in await store.batches.items(args.batch):
                assert item.document_id is not None, item
                doc = await store.documents.get(item.document_id, version=item.version)
                for fmt, info in doc.version.manifest.outputs.items():
                    data, _ = await store.documents.read_output(doc.id, fmt, version=item.version)
                    assert sha256_hex(data) == info.sha256
                checked[item.index] = doc.id
            Path(args.report).write_text(
                json.dumps({"stats": stats.__dict__, "documents": checked})
            )
    executor.shutdown()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--batch", required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--report", default="")
    sys.exit(asyncio.run(main(parser.parse_args())))
