"""Embedded SQLite: one process runs a data folder's batches (``<data_dir>/batches.lock``), and
what a killed owner left running is taken up at once by the next, with no lease to wait for."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from service.api.storage import RUNNER
from service.jobs.parse import item_from_bytes
from service.store import open_store
from service.store.db import epoch_now
from service.store.schema import batch_items
from tests.api.conftest import ClientFactory
from tests.api.test_batches import ndjson, submit, wait_finished, year_payload


async def wait_owner(client: TestClient[Any, Any], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not client.app[RUNNER].owner:
        assert time.monotonic() < deadline, "the runner never took the data folder"
        await asyncio.sleep(0.05)


async def test_a_dead_owners_items_are_taken_up_at_once(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """An item left running under an hour-long lease by a process that is gone (no one holds
    the lock) is rendered as soon as the next server starts, its attempt counted."""
    async with await open_store(None, tmp_path) as store:
        created = await store.batches.create([item_from_bytes(year_payload(2023), "line 1")])
        async with store.db.write() as conn:
            await conn.execute(
                update(batch_items).values(
                    state="running", lease_owner="killed-node", attempts=1,
                    lease_expires_at=epoch_now() + 3600,
                )
            )  # fmt: skip
    started = time.monotonic()
    client = await make_client(data_dir=tmp_path, batch_lease_s=3600)
    status = await wait_finished(client, created.batch.id, timeout_s=10)
    assert time.monotonic() - started < 10
    assert [(i["state"], i["attempts"]) for i in status["items"]] == [("done", 2)]


async def test_one_owner_per_data_folder_and_the_next_takes_over(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    first = await make_client(data_dir=tmp_path)
    await wait_owner(first)
    second = await make_client(data_dir=tmp_path)
    await asyncio.sleep(0.3)
    assert not second.app[RUNNER].owner  # serves requests, runs no batch
    await first.close()
    await wait_owner(second)
    batch = await (await submit(second, ndjson(year_payload(2022), year_payload(2023)))).json()
    status = await wait_finished(second, batch["id"], timeout_s=10)
    assert (status["done"], status["failed"]) == (2, 0)
