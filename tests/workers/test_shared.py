"""Shared bytes cross a worker connection once; later frames name them by SHA-256."""

from __future__ import annotations

import os
import pickle

import pytest

from service.workers import ProcessPool, protocol
from service.workers.protocol import Shared, SharedLedger
from tests.workers import tasks

FONT = Shared(os.urandom(300_000))


def test_second_frame_carries_a_reference_and_the_server_copy_is_used() -> None:
    worker, server = SharedLedger(), SharedLedger()
    first = protocol.dumps(("ok", {"font": FONT, "n": 1}), worker)
    second = protocol.dumps(("ok", {"font": Shared(bytes(FONT)), "n": 2}), worker)
    assert len(first) > len(FONT) > 100 * len(second)
    for frame, n in ((first, 1), (second, 2)):
        _, reply = protocol.loads(frame, server)
        assert reply == {"font": bytes(FONT), "n": n} and isinstance(reply["font"], Shared)


def test_both_ends_evict_alike_within_the_budget() -> None:
    worker, server = SharedLedger(budget=250_000), SharedLedger(budget=250_000)
    parts = [Shared(os.urandom(100_000)) for _ in range(4)]
    order = [0, 1, 0, 2, 3, 0, 1, 3]  # 1 is evicted before it comes back: sent whole again
    for i in order:
        _, got = protocol.loads(protocol.dumps(("ok", parts[i]), worker), server)
        assert got == parts[i]
    again = protocol.dumps(("ok", parts[1]), worker)
    assert len(again) < 200  # held by both ends: a reference
    assert protocol.loads(again, server)[1] == parts[1]


def test_a_frame_that_fails_to_pickle_leaves_the_ledger_as_it_was() -> None:
    worker, server = SharedLedger(), SharedLedger()
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        protocol.dumps(("ok", [FONT, lambda: None]), worker)
    frame = protocol.dumps(("ok", FONT), worker)
    assert len(frame) > len(FONT)  # still sent whole: the failed frame never reached the server
    assert protocol.loads(frame, server)[1] == FONT


async def test_a_pool_worker_sends_shared_bytes_once() -> None:
    pool = ProcessPool(size=1, initializer=tasks.noop)
    await pool.start()
    try:
        replies = [await pool.run(tasks.shared_font, n, timeout=10) for n in range(3)]
    finally:
        await pool.close()
    assert [r["own"] for r in replies] == [n.to_bytes(4, "big") for n in range(3)]
    assert all(r["font"] == b"\x01font" * 200_000 for r in replies)
    assert replies[1]["font"] is replies[2]["font"]  # the server's one copy
