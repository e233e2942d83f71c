"""Runner nodes for the durability tests: ``python -m tests.jobs.runner_main …``.

The process warms the real pipeline once, then forks ``--nodes`` node processes (a zygote: the
warm-up of fonts and templates is paid once, not per node). Each node opens its own store (its
own connections), renders in one worker thread of its own and works on one batch until it is
finished: on SQLite the local queue (putting back what a killed predecessor left running), on
PostgreSQL the job engine (``--lease``: how long a silent node's jobs wait before another takes
them); with ``--report-dir`` it then reads every document of the batch back through its store,
checks each output against its manifest hash and writes ``<name>.json``. With ``--restart`` a
node that dies from a signal is forked again once under the name ``<name>-restarted``, as a
supervisor would restart it.

Prints ``NODE <name> <pid>`` when a node starts and ``EXIT <name> <status>`` when it ends (the
status is negative for a signal). Exits 0 when every node that was not killed exited 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from service import pipeline
from service.jobs.engine import Engine
from service.jobs.render import RenderFn, executor_render
from service.jobs.runner import run_worker
from service.store import Store, open_store
from service.store.models import sha256_hex


async def run_engine(store: Store, render: RenderFn, args: argparse.Namespace, name: str) -> Any:
    """PostgreSQL: the node's job engine until the batch is finished."""
    engine = Engine(store, render, node=name, concurrency=args.concurrency,
                    stalled_after_s=args.lease, poll_interval_s=0.1)  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    while (await store.batches.get(args.batch)).state != "finished" and not task.done():
        await asyncio.sleep(0.1)
    stop.set()
    return await task


async def node(args: argparse.Namespace, name: str) -> int:
    executor = ThreadPoolExecutor(max_workers=1)
    async with await open_store(args.database_url or None, Path(args.data_dir)) as store:
        render = executor_render(executor)
        if store.backend == "postgresql":
            stats = await run_engine(store, render, args, name)
        else:
            await store.batches.reset_running(args.batch)  # the one owner, (re)started
            stats = await run_worker(
                store, render, concurrency=args.concurrency, worker_id=name,
                batch_id=args.batch, stop_when_finished=True, poll_interval_s=0.1,
                webhooks=False,
            )  # fmt: skip
        if args.report_dir:
            checked = {}
            for item in await store.batches.items(args.batch):
                assert item.document_id is not None, item
                doc = await store.documents.get(item.document_id, version=item.version)
                for fmt, info in doc.version.manifest.outputs.items():
                    data, _ = await store.documents.read_output(doc.id, fmt, version=item.version)
                    assert sha256_hex(data) == info.sha256
                checked[item.index] = doc.id
            report = {"stats": stats.__dict__, "documents": checked}
            (Path(args.report_dir) / f"{name}.json").write_text(json.dumps(report))
    executor.shutdown()
    return 0


def fork_node(args: argparse.Namespace, name: str) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = asyncio.run(node(args, name))
        finally:
            sys.stdout.flush()
            os._exit(code)
    print(f"NODE {name} {pid}", flush=True)
    return pid


def main(args: argparse.Namespace) -> int:
    pipeline.warm_up()
    nodes = {fork_node(args, f"{args.name}-{i}"): f"{args.name}-{i}" for i in range(args.nodes)}
    failed = False
    while nodes:
        pid, wait_status = os.wait()
        name = nodes.pop(pid)
        code = os.waitstatus_to_exitcode(wait_status)
        print(f"EXIT {name} {code}", flush=True)
        if code < 0 and args.restart and not name.endswith("-restarted"):
            nodes[fork_node(args, f"{name}-restarted")] = f"{name}-restarted"
        elif code > 0:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--batch", required=True)
    parser.add_argument("--name", default="node")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--restart", action="store_true")
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--report-dir", default="")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(main(parser.parse_args()))
