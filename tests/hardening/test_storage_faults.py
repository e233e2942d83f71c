"""Storage faults: a data folder (or a PostgreSQL database) that fills up or turns read-only,
and PostgreSQL going away in the middle of a batch.

The data folder is a real ext4 file system in a loop-mounted image of the test's own (we run as
root, so ``chmod`` would not stop a write): *full* is a filler file written until ``ENOSPC``;
*read-only* is ext4's own error path (``/sys/fs/ext4/<dev>/trigger_fs_error`` with
``errors=remount-ro``), what a kernel does to a disk it no longer trusts, with the server's files
still open. PostgreSQL is a private cluster (``initdb`` in a temporary folder, its own port),
stopped and restarted with ``pg_ctl``; the machine's shared cluster is never touched.

What every test checks afterwards: the write that met the fault stored nothing visible (no
document, version or idempotency key, no ``.tmp-*`` file), every earlier document reads back
byte-identical to the SHA-256 in its manifest, and every file in the artifact folder is whole
(its name is the hash of its bytes).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from service.jobs.batch_cli import run_batch
from service.jobs.parse import item_from_bytes
from service.jobs.render import RenderFn, executor_render
from service.jobs.runner import WorkerStats, run_worker
from service.store import (
    ClaimedItem,
    Rendered,
    StorageFull,
    StorageReadOnly,
    Store,
    open_store,
)
from tests.hardening.backends import PrivatePostgres
from tests.hardening.support import Server, auth, dumps, http, small_example
from tests.jobs.batch_checks import assert_done_exactly_once

pytestmark = pytest.mark.slow

# --- a file system to break -------------------------------------------------------------------


class LoopDisk:
    """An ext4 file system in an image file, loop-mounted at ``mount`` (needs root and loop
    devices, as CI has). No reserved blocks (root could write into them) and no journal (a
    smaller image). Unmounted in :meth:`close`, lazily if something still holds it."""

    def __init__(self, root: Path, size_mib: int) -> None:
        self.image = root / "disk.img"
        self.mount = root / "mnt"
        self.mount.mkdir(parents=True)
        with self.image.open("wb") as handle:
            handle.truncate(size_mib << 20)
        _run("mkfs.ext4", "-q", "-F", "-b", "4096", "-m", "0", "-O", "^has_journal",
             str(self.image))  # fmt: skip
        _run("mount", "-o", "loop,errors=remount-ro", str(self.image), str(self.mount))
        self.device = _run("findmnt", "-n", "-o", "SOURCE", str(self.mount)).strip()

    @property
    def filler(self) -> Path:
        return self.mount / "filler"

    def fill(self, leave: int = 0) -> None:
        """Write the filler until the file system refuses (``ENOSPC``), then give back
        ``leave`` bytes of it."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in (1 << 20, 1 << 16, 4096, 512):
                while _write_or_full(fd, b"\0" * chunk):
                    pass
            os.fsync(fd)
        finally:
            os.close(fd)
        if leave:
            os.truncate(self.filler, max(0, self.filler.stat().st_size - leave))

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def break_to_read_only(self) -> None:
        """Make ext4 report an error: with ``errors=remount-ro`` it refuses every write from
        now on (``EROFS``), open files included; reads go on."""
        Path(f"/sys/fs/ext4/{Path(self.device).name}/trigger_fs_error").write_text("1")
        probe = self.mount / "probe"
        try:
            probe.write_bytes(b"x")
        except OSError as exc:
            assert exc.errno == errno.EROFS, exc
        else:
            raise AssertionError("the file system still takes writes")

    def close(self) -> None:
        if (
            subprocess.run(["umount", str(self.mount)], check=False, capture_output=True).returncode
            != 0
        ):
            subprocess.run(["umount", "-l", str(self.mount)], check=False, capture_output=True)
        self.image.unlink(missing_ok=True)


def _write_or_full(fd: int, data: bytes) -> bool:
    try:
        os.write(fd, data)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        return False
    return True


def _run(*command: str) -> str:
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} failed: {result.stderr.strip()} (needs root and /dev/loop*)"
        )
    return result.stdout


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[LoopDisk]:
    """A 64 MiB ext4 data disk of this test's own (about seven stored documents)."""
    loop = LoopDisk(tmp_path / "disk", 64)
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture
def shared_disk() -> Iterator[LoopDisk]:
    """As :func:`disk`, in a folder other users may traverse (the pytest folder is root's
    alone), for a PostgreSQL running as ``postgres``."""
    root = Path(tempfile.mkdtemp(prefix="pilu-disk-"))
    root.chmod(0o755)
    loop = LoopDisk(root, 64)
    try:
        yield loop
    finally:
        loop.close()
        shutil.rmtree(root, ignore_errors=True)


# --- payloads and checks ----------------------------------------------------------------------


def variant(i: int) -> bytes:
    """The small example (康宁财险 2022), its publish date moved by ``i`` days and its company
    id made its own: a distinct document (another report, so not a new version of the first;
    other payload, other PDF and DOCX bytes) per ``i``."""
    document = small_example()
    document["publish_date"] = f"2023-03-{10 + i:02d}"
    document["company"]["id"] = f"{document['company']['id']}-{i}"
    return dumps(document)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_artifacts_whole(data_dir: Path) -> int:
    """Every artifact file is whole (named by the hash of its bytes), no ``.tmp-*`` left; how
    many there are."""
    files = [p for p in (data_dir / "artifacts").rglob("*") if p.is_file()]
    assert not [p for p in files if p.name.startswith(".tmp-")], "a half-written file was left"
    for path in files:
        assert sha(path.read_bytes()) == path.name, f"partial or damaged: {path}"
    return len(files)


def sqlite_counts(data_dir: Path) -> tuple[int, int, int]:
    """Documents, versions and documents' idempotency keys in the SQLite index (WAL included),
    opened read-only: the file system may be."""
    uri = f"file:{data_dir / 'pilu.sqlite3'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        documents, versions, keys = (
            int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in (
                "documents",
                "document_versions",
                "idempotency_keys WHERE kind = 'document'",
            )
        )
    return documents, versions, keys


# --- through the API --------------------------------------------------------------------------


def start_server(disk: LoopDisk) -> Server:
    """``pilu serve`` with the real pipeline and one worker; its data folder is ``data`` on the
    loop disk, its log beside the disk image (so the log neither fills the disk nor is lost
    with it)."""
    env = {"PILU_DATA_DIR": str(disk.mount / "data"), "PILU_WORKERS": "1",
           "PILU_RENDER_TIMEOUT_S": "60", "PILU_SHUTDOWN_GRACE_S": "5"}  # fmt: skip
    return Server(disk.image.parent / "server", env=env).start()


def post_document(server: Server, body: bytes, key: str) -> tuple[int, dict[str, Any]]:
    headers = {**auth(), "Idempotency-Key": key, "Content-Type": "application/json"}
    status, _, raw = http("POST", f"{server.url}/v1/documents", body, headers)
    return status, json.loads(raw)


def assert_documents_intact(server: Server, stored: dict[str, dict[str, Any]]) -> None:
    """The index lists exactly ``stored`` (id → document body) and each output downloads
    byte-identical to its manifest's SHA-256."""
    status, _, raw = http("GET", f"{server.url}/v1/documents?limit=200", headers=auth())
    assert status == 200
    assert {d["id"] for d in json.loads(raw)["items"]} == set(stored)
    for document_id, body in stored.items():
        for fmt, info in body["manifest"]["outputs"].items():
            status, _, data = http("GET", f"{server.url}/v1/documents/{document_id}/{fmt}",
                                   headers=auth())  # fmt: skip
            assert status == 200, data[:300]
            assert sha(data) == info["sha256"] and len(data) == info["size"]


def assert_refused(status: int, body: dict[str, Any], code: str) -> None:
    assert status == 507, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body


def assert_new_version_refused(server: Server, document_id: str, code: str) -> None:
    """A new version of ``document_id`` (from its stored payload) is refused with ``code`` and
    leaves the document at version 1."""
    url = f"{server.url}/v1/documents/{document_id}"
    status, _, raw = http("POST", f"{url}/versions", b"", auth())
    assert_refused(status, json.loads(raw), code)
    status, _, raw = http("GET", f"{url}/versions", headers=auth())
    assert status == 200 and [v["version"] for v in json.loads(raw)["versions"]] == [1]


def store_two(server: Server) -> dict[str, dict[str, Any]]:
    stored = {}
    for i in range(2):
        status, body = post_document(server, variant(i), f"before-{i}")
        assert status == 201, body
        stored[body["id"]] = body
    return stored


def assert_every_write_refused(server: Any, stored: dict[str, Any], code: str) -> None:
    """A new document (twice), a batch and a new version are each refused with ``code``."""
    for _attempt in range(2):
        status, body = post_document(server, variant(5), "after")
        assert_refused(status, body, code)
    status, _, raw = http("POST", f"{server.url}/v1/batches", dumps([small_example()]),
                          {**auth(), "Content-Type": "application/json"})  # fmt: skip
    assert_refused(status, json.loads(raw), code)
    assert_new_version_refused(server, next(iter(stored)), code)


def test_full_data_folder_refuses_documents_and_keeps_earlier_ones(disk: LoopDisk) -> None:
    """Two documents stored, then the data disk filled: ``POST /v1/documents`` answers 507
    ``storage_full`` (so do a batch and a new version); nothing of them is stored, earlier
    documents read back byte-identical; once space is freed the same request (same idempotency
    key) succeeds."""
    data_dir = disk.mount / "data"
    server = start_server(disk)
    try:
        stored = store_two(server)
        disk.fill()
        assert_every_write_refused(server, stored, "storage_full")
        assert_documents_intact(server, stored)
        assert_artifacts_whole(data_dir)
        assert sqlite_counts(data_dir) == (2, 2, 2)
        disk.free()
        status, body = post_document(server, variant(5), "after")
        assert status == 201, body
        stored[body["id"]] = body
        assert_documents_intact(server, stored)
    finally:
        assert server.stop() == 0, server.logs()[-3000:]
    assert sqlite_counts(data_dir) == (3, 3, 3)
    assert_artifacts_whole(data_dir)


def test_read_only_data_folder_refuses_documents_and_serves_earlier_ones(disk: LoopDisk) -> None:
    """Two documents stored, then ext4 turns the data disk read-only under the running server:
    ``POST /v1/documents``, ``POST /v1/batches`` and a new version answer 507
    ``storage_read_only``; reads go on, byte-identical; the server still answers ``/healthz``
    and stops cleanly."""
    data_dir = disk.mount / "data"
    server = start_server(disk)
    try:
        stored = store_two(server)
        disk.break_to_read_only()
        assert_every_write_refused(server, stored, "storage_read_only")
        assert_documents_intact(server, stored)
        assert http("GET", f"{server.url}/healthz")[0] == 200
    finally:
        assert server.stop() == 0, server.logs()[-3000:]
    assert sqlite_counts(data_dir) == (2, 2, 2)
    assert_artifacts_whole(data_dir)


# --- in the store: every amount of space left -------------------------------------------------


def synthetic(i: int, size: int) -> Rendered:
    """Outputs of ``size`` random-looking bytes each (no render: the store is under test)."""
    seed = f"{i}".encode()
    block = b"".join(hashlib.sha256(seed + bytes([n])).digest() for n in range(256))
    data = (block * (size // len(block) + 1))[:size]
    return Rendered(
        company_id="kangning-property", report_year=2022, kind="consumer-protection-annual",
        outputs={"pdf": b"%PDF" + data, "docx": b"PK" + data[::-1]},
        filenames={"pdf": "a.pdf", "docx": "a.docx"}, template_version="t", house_style="h",
        house_style_version="v", fonts={}, libraries={},
    )  # fmt: skip


async def test_every_amount_of_space_left_stores_whole_or_nothing(disk: LoopDisk) -> None:
    """With 0 to 320 KiB left (16 KiB steps) a create of a document of about 260 KiB either
    stores it whole or raises ``StorageFull`` and stores nothing: at the files (``ENOSPC``) or,
    when the files fit and the index does not, at the database (``SQLITE_FULL``)."""
    data_dir = disk.mount / "data"
    outcomes: dict[str, int] = {}
    async with await open_store(None, data_dir) as store:
        first = await store.documents.create(b'{"n": -1}', synthetic(-1, 128 << 10))
        kept = {first.document.id}
        for step in range(21):
            disk.fill(leave=step * (16 << 10))
            try:
                result = await store.documents.create(
                    b'{"n": %d}' % step, synthetic(step, 128 << 10), idempotency_key=f"k{step}"
                )
            except StorageFull as exc:
                outcome = f"refused at {exc.details['store']}"
                assert (
                    await store.documents.find_replay("", f"k{step}", b'{"n": %d}' % step) is None
                )
            else:
                outcome = "stored"
                kept.add(result.document.id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            disk.free()
            listed = {d.id for d in (await store.documents.list(limit=200)).items}
            assert listed == kept
            for document_id in kept:
                for fmt in ("pdf", "docx"):
                    await store.documents.read_output(document_id, fmt)  # checks the hash
            assert_artifacts_whole(data_dir)
    print(f"space sweep outcomes: {outcomes}")
    assert outcomes.get("refused at files", 0) >= 1 and outcomes.get("stored", 0) >= 1


def random_rendered(size: int) -> Rendered:
    """Outputs of ``size`` random bytes each: nothing for PostgreSQL to compress."""
    return Rendered(
        company_id="kangning-property", report_year=2022, kind="consumer-protection-annual",
        outputs={"pdf": os.urandom(size), "docx": os.urandom(size)},
        filenames={"pdf": "a.pdf", "docx": "a.docx"}, template_version="t", house_style="h",
        house_style_version="v", fonts={}, libraries={},
    )  # fmt: skip


async def test_postgres_full_or_read_only_refuses_documents(
    shared_disk: LoopDisk, tmp_path: Path
) -> None:
    """A private PostgreSQL whose database lives in a tablespace on the loop disk (its WAL stays
    on the main disk, as a server's often does). Disk full: a create raises ``StorageFull``
    (SQLSTATE 53100) and stores nothing, not even its idempotency key; after freeing space the
    same key stores it. Server turned read-only (``default_transaction_read_only``, what a
    primary demoted to a standby answers too): ``StorageReadOnly`` (25006). Earlier documents
    read back intact throughout."""
    disk = shared_disk
    space = disk.mount / "pg"
    space.mkdir()
    shutil.chown(space, "postgres", "postgres")
    with PrivatePostgres() as pg:
        pg.sql(f"CREATE TABLESPACE loopdisk LOCATION '{space}'")
        url = pg.create_database("pilu", "--tablespace=loopdisk")
        async with await open_store(url, tmp_path) as store:

            async def create(n: int, key: str | None = None, size: int = 256 << 10) -> str:
                payload = b'{"n": %d}' % n
                result = await store.documents.create(
                    payload, random_rendered(size), idempotency_key=key
                )
                return result.document.id

            async def assert_kept() -> None:
                assert {d.id for d in (await store.documents.list()).items} == kept
                for document_id in kept:
                    for fmt in ("pdf", "docx"):
                        await store.documents.read_output(document_id, fmt)  # checks the hash

            kept = {await create(0)}
            disk.fill()
            with pytest.raises(StorageFull) as full:
                await create(1, "k1")
            assert full.value.details == {"store": "database", "sqlstate": "53100"}
            assert await store.documents.find_replay("", "k1", b'{"n": 1}') is None
            await assert_kept()
            disk.free()
            kept.add(await create(1, "k1"))
            await assert_kept()
            pg.sql("ALTER SYSTEM SET default_transaction_read_only = on")
            pg.sql("SELECT pg_reload_conf()")
            await asyncio.sleep(0.5)  # the reload reaches every backend at its next command
            with pytest.raises(StorageReadOnly) as read_only:
                await create(2, size=1024)
            assert read_only.value.details == {"store": "database", "sqlstate": "25006"}
            await assert_kept()


# --- the batch runner and `pilu batch` --------------------------------------------------------


async def make_batch(store: Store, n: int) -> str:
    items = [item_from_bytes(variant(i), f"item {i}") for i in range(n)]
    return (await store.batches.create(items)).batch.id


async def item_states(store: Store, batch_id: str) -> list[str]:
    return [item.state for item in await store.batches.items(batch_id)]


async def run_batch_worker(
    store: Store,
    batch_id: str,
    render: RenderFn,
    on_finished: Callable[[ClaimedItem, str], None] | None = None,
    lease_s: float = 5.0,
) -> WorkerStats:
    """One runner on ``batch_id`` until it is finished (a minute at most)."""
    return await asyncio.wait_for(
        run_worker(store, render, concurrency=1, lease_seconds=lease_s, batch_id=batch_id,
                   stop_when_finished=True, poll_interval_s=0.1, webhooks=False,
                   on_finished=on_finished),
        timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("fault", ["full", "read_only"])
async def test_runner_stops_when_the_data_folder_refuses(disk: LoopDisk, fault: str) -> None:
    """A batch of three; after the first item is done the disk fills up (or turns read-only).
    The runner stops with ``StorageFull`` (``StorageReadOnly``) instead of spending the other
    items' attempts: the first stays done and intact, none is failed. After ``full``, freeing
    the space and running again finishes the batch, each item exactly once."""
    data_dir = disk.mount / "data"
    executor = ThreadPoolExecutor(1)
    try:
        async with await open_store(None, data_dir) as store:
            batch_id = await make_batch(store, 3)
            fault_now = disk.fill if fault == "full" else disk.break_to_read_only
            started = time.monotonic()
            with pytest.raises(StorageFull if fault == "full" else StorageReadOnly):
                await run_batch_worker(store, batch_id, executor_render(executor),
                                       on_finished=lambda _item, _state: fault_now())  # fmt: skip
            stopped_after = time.monotonic() - started
            states = await item_states(store, batch_id)
            assert states[0] == "done" and "failed" not in states, states
            assert states.count("done") == 1, states
            assert_artifacts_whole(data_dir)
            first = (await store.batches.items(batch_id))[0]
            assert first.document_id is not None
            for fmt in ("pdf", "docx"):
                await store.documents.read_output(first.document_id, fmt)
            print(f"{fault}: runner stopped after {stopped_after:.1f} s, items {states}")
            if fault == "full":
                disk.free()
                stats = await run_batch_worker(store, batch_id, executor_render(executor))
                assert stats.done == 2
                await assert_done_exactly_once(store, batch_id, 3)
    finally:
        executor.shutdown(wait=True)


def test_pilu_batch_on_a_full_disk_resumes_once_space_is_freed(disk: LoopDisk) -> None:
    """``pilu batch`` of three payloads into an output folder on the loop disk, which fills up
    as the second render returns: the run stops with exit status 2 naming ``storage_full``,
    nothing half-written is left; the same command after freeing the space finishes (exit 0)
    with every output file matching ``manifest.json``."""
    source = disk.mount / "input.ndjson"
    source.write_bytes(b"\n".join(variant(i) for i in range(3)) + b"\n")
    out = disk.mount / "out"
    executor = ThreadPoolExecutor(1)
    plain = executor_render(executor)
    renders = 0

    async def render_then_fill(raw: bytes) -> Any:
        nonlocal renders
        outcome = await plain(raw)
        renders += 1
        if renders == 2:
            disk.fill()
        return outcome

    try:
        console = Console(record=True, width=200)
        status = run_batch(
            source, out, 1, render=render_then_fill, lease_seconds=5.0, console=console
        )
        assert status == 2
        assert "storage_full" in console.export_text()
        assert_artifacts_whole(out / ".pilu")
        assert not list(out.glob(".tmp-*"))
        disk.free()
        assert run_batch(source, out, 1, render=plain, lease_seconds=5.0) == 0
    finally:
        executor.shutdown(wait=True)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [row["state"] for row in manifest["items"]] == ["done"] * 3
    for row in manifest["items"]:
        for file in row["files"].values():
            assert sha((out / file["name"]).read_bytes()) == file["sha256"]
    assert sqlite_counts(out / ".pilu") == (3, 3, 3)
    assert_artifacts_whole(out / ".pilu")


# --- PostgreSQL restarted during a batch ------------------------------------------------------


async def test_postgres_restarted_twice_during_a_batch(tmp_path: Path) -> None:
    """Two runners (each its own engine, as two nodes; renders one at a time in one thread) work
    on a batch of eight in a private PostgreSQL, which goes away twice: a ``fast`` restart
    (connections cut, clean shutdown) after the second item is done, and an ``immediate`` stop
    (as a crash: recovery at the next start) the moment the sixth render returns, started again
    1.5 s later, so that document's store call meets the outage. The batch finishes, every item
    done exactly once (one document, version and idempotency key each, outputs as hashed), and
    the document stored across the outage was not abandoned to its lease but tried again."""
    n = 8
    with PrivatePostgres() as pg:
        url = pg.create_database("pilu")
        executor = ThreadPoolExecutor(1)  # one render at a time: WeasyPrint is not thread-safe
        plain = executor_render(executor)
        two_done = asyncio.Event()
        renders, finished, outages = 0, 0, []

        async def outage() -> None:
            await asyncio.sleep(1.5)
            await asyncio.to_thread(pg.start)

        async def render_then_crash(raw: bytes) -> Any:
            nonlocal renders
            outcome = await plain(raw)
            renders += 1
            if renders == 6:
                await asyncio.to_thread(pg.stop, "immediate")
                outages.append(asyncio.create_task(outage()))
            return outcome

        def count(_item: Any, _state: str) -> None:
            nonlocal finished
            finished += 1
            if finished == 2:
                two_done.set()

        async def node() -> WorkerStats:
            async with await open_store(url, tmp_path) as store:
                return await run_batch_worker(store, batch_id, render_then_crash, count, 5.0)

        async with await open_store(url, tmp_path) as admin:
            batch_id = await make_batch(admin, n)
            started = time.monotonic()
            nodes = [asyncio.create_task(node()) for _ in range(2)]
            await asyncio.wait_for(two_done.wait(), 60)
            restart_s = time.monotonic()
            await asyncio.to_thread(pg.restart, "fast")
            restart_s = time.monotonic() - restart_s
            stats = await asyncio.gather(*nodes, *outages)
            elapsed = time.monotonic() - started
            executor.shutdown(wait=True)
            await assert_done_exactly_once(admin, batch_id, n)
            attempts = [i.attempts for i in await admin.batches.items(batch_id)]
    runners = [s for s in stats if isinstance(s, WorkerStats)]
    print(f"postgres restarts: {elapsed=:.1f} s, fast restart {restart_s:.1f} s, {renders=}, "
          f"{attempts=}, stats={[vars(s) for s in runners]}")  # fmt: skip
    assert outages, "the crash happened"
    assert sum(s.store_retries for s in runners) >= 1, "a store call met the outage"
    assert sum(s.abandoned for s in runners) == 0, "no rendered document was thrown away"
