"""``pilu batch INPUT --out DIR [--workers N]``: render many payloads, resumably.

INPUT is a folder of ``*.json`` payloads or one NDJSON / JSON-array file. The run keeps its state
in ``DIR/.pilu`` (an embedded store: SQLite and content-addressed files) and writes the outputs
and ``manifest.csv``/``manifest.json`` into ``DIR`` under their Chinese names.

Resuming: the batch is keyed by its input (names and payload hashes), so running the same
command again continues the same batch: finished items are not redone, items that a killed run
left half-done are taken up again at once (the run holds ``DIR/.pilu/lock`` so it knows no one
else works on them). Each item's document is keyed by its payload's hash, so after editing a few
files only those are rendered again. Output files whose hash already matches are not rewritten.
To force a fresh render (new templates or fonts), delete ``DIR/.pilu``.

Rendering runs on the server's worker pool (:mod:`service.workers`), with the server's settings
(``PILU_*``, :mod:`service.settings`): an item that renders longer than ``render_timeout_s`` has
its worker killed and replaced, and fails; a worker is replaced after ``max_tasks_per_child``
items.

Exit status: 0 every item rendered, 1 some item failed (listed in the summary and the
manifest), 2 the input could not be read, the settings are invalid, another run holds the lock,
or ``DIR`` is full or read-only (what was stored stays; the same command continues once there is
room), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from service.errors import BatchInvalid, PiluError
from service.jobs import WORKER_PRELOAD
from service.jobs.archive import (
    ArchiveEntry,
    archive_entries,
    manifest_csv,
    manifest_json,
    manifest_rows,
)
from service.jobs.owner import Locked, exclusive_lock
from service.jobs.parse import ParsedBatch, parse_batch, parse_folder
from service.jobs.render import (
    RenderFn,
    RenderOutcome,
    batch_warm_up,
    pool_render,
    render_item,
)
from service.jobs.runner import RenderPoolBroken, WorkerStats, run_worker
from service.settings import Settings
from service.signing import SigningSetupError, signer_from_settings
from service.store import BatchItemInput, BatchStatus, Store, open_store
from service.store.errors import STORAGE_REFUSED, storage_error
from service.store.files import atomic_writer, write_atomic
from service.store.models import OutputInfo, sha256_hex
from service.style import PdfVariant
from service.workers import WorkerStartFailed, make_pool
from service.workers.pool import stop_helper_processes

STATE_DIR = ".pilu"
CLI_SCOPE = "cli"
EXIT_OK, EXIT_FAILED_ITEMS, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("—/s" if speed is None else f"{speed:.2f} 份/s", style="progress.data.speed")


ItemTask = Callable[..., RenderOutcome]
"""What a worker runs per item: module-level (the worker imports it by name), like
:func:`~service.jobs.render.render_item`."""


def run_batch(
    input: Path,
    out: Path,
    workers: int,
    *,
    settings: Settings | None = None,
    task: ItemTask = render_item,
    warm_up: Callable[[], None] | None = batch_warm_up,
    render: RenderFn | None = None,
    lease_seconds: float = 60.0,
    console: Console | None = None,
    pdf_variant: PdfVariant | None = None,
) -> int:
    """Render every payload of ``input`` into ``out`` with ``workers`` processes; the exit status.

    ``settings`` defaults to :meth:`Settings.load` (the environment); the pool's workers run
    ``warm_up`` once each (by default :func:`~service.jobs.render.batch_warm_up`), then
    ``task`` per item (given ``pdf_variant``, when set). ``render`` replaces the pool
    altogether (tests); ``console`` where the summary goes (stdout); the progress bar goes to
    stderr. A company certificate the settings name but that cannot sign
    stops the batch before anything is rendered (the workers sign with it).
    """
    console = console or Console()
    try:
        if settings is None:
            try:
                settings = Settings.load()
            except (ValidationError, FileNotFoundError) as exc:
                console.print(f"[red]配置有误（见 docs/configuration.md）：\n{exc}[/red]")
                return EXIT_UNUSABLE
        try:
            signer_from_settings(settings)
        except SigningSetupError as exc:
            console.print(f"[red]签章证书不可用（PILU_SIGNING_PKCS12）：{exc}[/red]")
            return EXIT_UNUSABLE
        if pdf_variant is not None:
            task = partial(task, pdf_variant=pdf_variant)
        renderer = _Renderer(settings, task, warm_up, render)
        return asyncio.run(_run_batch(input, out, workers, renderer, lease_seconds, console))
    except KeyboardInterrupt:
        console.print("[yellow]已中断；再次运行同一命令可继续。[/yellow]")
        return EXIT_INTERRUPTED
    finally:
        stop_helper_processes()  # the pool's workers are reaped; the fork server goes too


@dataclass(frozen=True, slots=True)
class _Renderer:
    """How items are rendered: ``task`` on a worker pool made from ``settings``, or ``render``
    in its place."""

    settings: Settings
    task: ItemTask
    warm_up: Callable[[], None] | None
    render: RenderFn | None

    @asynccontextmanager
    async def open(
        self, workers: int, closing: list[asyncio.Task[None]]
    ) -> AsyncIterator[RenderFn]:
        """The render function for the runner, on a started pool of ``workers`` processes.

        When the block ends normally the pool is closed in the background (its workers take a
        second or two to exit) and the task is put on ``closing`` for the caller to await once
        the outputs are written; after an error it is closed (its workers reaped) before the
        error goes on."""
        if self.render is not None:
            yield self.render
            return
        settings = self.settings.model_copy(update={"workers": workers})
        pool = make_pool(settings, self.warm_up, preload=WORKER_PRELOAD)
        try:
            await pool.start()
        except WorkerStartFailed as exc:
            raise RenderPoolBroken(str(exc)) from exc
        try:
            yield pool_render(pool, self.settings.render_timeout_s, self.task)
        except BaseException:
            await pool.close()
            raise
        closing.append(asyncio.create_task(pool.close()))


async def _run_batch(
    input: Path,
    out: Path,
    workers: int,
    renderer: _Renderer,
    lease_seconds: float,
    console: Console,
) -> int:
    if workers < 1:
        console.print("[red]--workers 至少为 1[/red]")
        return EXIT_UNUSABLE
    try:
        parsed = _read_input(input)
    except (BatchInvalid, OSError) as exc:
        console.print(f"[red]无法读取输入 {input}：{getattr(exc, 'message', exc)}[/red]")
        return EXIT_UNUSABLE
    out.mkdir(parents=True, exist_ok=True)
    state = out / STATE_DIR
    state.mkdir(exist_ok=True)
    try:
        with exclusive_lock(state / "lock"):
            async with await open_store(None, state) as store:
                return await _run_in_store(
                    store, parsed, out, workers, renderer, lease_seconds, console
                )
    except Locked:
        console.print(f"[red]另一个 pilu batch 正在使用 {out}[/red]")
        return EXIT_UNUSABLE
    except OSError as exc:  # what the store did not already classify: writing the outputs
        refused = storage_error(exc)
        if refused is None:
            raise
        return _storage_refused(console, out, refused)
    except STORAGE_REFUSED as exc:
        return _storage_refused(console, out, exc)


def _storage_refused(console: Console, out: Path, exc: PiluError) -> int:
    console.print(
        f"[red]{out} {exc.message}（{exc.code}）。已完成的结果都已保存；"
        "释放空间或恢复写入后再次运行同一命令即可继续。[/red]"
    )
    return EXIT_UNUSABLE


def _read_input(input: Path) -> ParsedBatch:
    parsed = parse_folder(input) if input.is_dir() else parse_batch(input.read_bytes())
    items = [
        BatchItemInput(i.raw, i.source, i.company_id, i.errors, f"sha256:{sha256_hex(i.raw)}")
        for i in parsed.items
    ]
    return ParsedBatch(items=items, lines=parsed.lines)


async def _run_in_store(
    store: Store,
    parsed: ParsedBatch,
    out: Path,
    workers: int,
    renderer: _Renderer,
    lease_seconds: float,
    console: Console,
) -> int:
    digest = sha256_hex(
        "\n".join(f"{i.source}\0{i.idempotency_key}" for i in parsed.items).encode()
    )
    created = await store.batches.create(
        parsed.items, scope=CLI_SCOPE, idempotency_key=f"input:{digest}"
    )
    batch = created.batch
    if created.replayed:
        await store.batches.reset_running(batch.id)
    started = time.monotonic()
    stats = WorkerStats()
    closing: list[asyncio.Task[None]] = []
    try:
        if batch.state != "finished":
            try:
                stats = await _work(store, batch, workers, renderer, lease_seconds, closing)
            except RenderPoolBroken as exc:
                console.print(f"[red]渲染进程意外退出（{exc}）；再次运行同一命令可继续。[/red]")
                return EXIT_FAILED_ITEMS
        elapsed = time.monotonic() - started
        status, entries = await archive_entries(store, batch.id)
        written = await _export(store, out, status, entries)
    finally:
        await asyncio.gather(*closing)  # the pool's workers are reaped before the batch ends
    _summary(console, status, entries, stats, elapsed, written, resumed=created.replayed)
    return EXIT_FAILED_ITEMS if status.failed else EXIT_OK


async def _work(
    store: Store,
    batch: BatchStatus,
    workers: int,
    renderer: _Renderer,
    lease_seconds: float,
    closing: list[asyncio.Task[None]],
) -> WorkerStats:
    progress = Progress(
        TextColumn("[bold]渲染"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("剩余"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = progress.add_task("batch", total=batch.total, completed=batch.done + batch.failed)
    async with renderer.open(workers, closing) as render:
        with progress:
            return await run_worker(
                store,
                render,
                concurrency=workers,
                lease_seconds=lease_seconds,
                batch_id=batch.id,
                stop_when_finished=True,
                webhooks=False,
                on_finished=lambda _item, _state: progress.advance(task),
            )


EXPORT_CONCURRENCY = 4
"""Output files written at once: each is read from the store and then written and fsynced in a
thread, so that one file's fsync overlaps the next one's reading."""


async def _export(store: Store, out: Path, status: BatchStatus, entries: list[ArchiveEntry]) -> int:
    """Write the outputs and manifests into ``out`` (atomically, skipping files whose hash
    already matches); how many output files were written.

    The outputs are read with one :class:`~service.store.documents.OutputReader` (the fonts
    the DOCX share read once), each file fsynced before it is renamed into place; the folder's
    entries are fsynced once for all of them, by the manifests' writes that follow (a run
    that stops before those reports nothing and writes the missing files again)."""
    files = [
        (out / name, entry.document.version.manifest.outputs[fmt])
        for entry in entries
        if entry.document is not None
        for fmt, name in entry.names.items()
    ]
    reader = await store.documents.output_reader([info for _, info in files])
    slots = asyncio.Semaphore(EXPORT_CONCURRENCY)

    async def export(target: Path, info: OutputInfo) -> bool:
        async with slots:
            if target.exists() and await asyncio.to_thread(_has_hash, target, info.sha256):
                return False
            pieces = await reader.read(info)
            await asyncio.to_thread(_write_pieces, target, pieces)
            return True

    tasks = [asyncio.create_task(export(target, info)) for target, info in files]
    try:
        written = sum(await asyncio.gather(*tasks))
    except BaseException:  # the first failure stops the others before it goes on
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    rows = manifest_rows(entries)
    await asyncio.to_thread(write_atomic, out / "manifest.csv", manifest_csv(rows))
    await asyncio.to_thread(write_atomic, out / "manifest.json", manifest_json(status, rows))
    return written


def _write_pieces(target: Path, pieces: list[bytes]) -> None:
    with atomic_writer(target, sync_dir=False) as handle:  # the manifests' writes sync it
        handle.writelines(pieces)


def _has_hash(path: Path, sha256: str) -> bool:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
    except FileNotFoundError:
        return False


def _summary(
    console: Console,
    status: BatchStatus,
    entries: list[ArchiveEntry],
    stats: WorkerStats,
    elapsed: float,
    written: int,
    *,
    resumed: bool,
) -> None:
    table = Table(title="批量渲染结果", show_header=True)
    table.add_column("项目")
    table.add_column("数量", justify="right")
    rendered_now = stats.done - stats.reused
    table.add_row("报送数据", str(status.total))
    table.add_row("成功", f"[green]{status.done}[/green]")
    table.add_row("失败", f"[red]{status.failed}[/red]" if status.failed else "0")
    table.add_row("本次渲染", str(rendered_now))
    table.add_row("沿用已有结果", str(status.done - rendered_now))
    table.add_row("写入文件", str(written))
    rate = rendered_now / elapsed if elapsed > 0 and rendered_now else 0.0
    table.add_row("用时", f"{elapsed:.1f} s" + (f"（{rate:.2f} 份/s）" if rate else ""))
    console.print(table)
    if resumed:
        console.print("续跑：沿用了上次运行的批次（同一输入）。")
    failed = [e for e in entries if e.item.state == "failed"]
    if failed:
        errors = Table(title="失败的报送数据", show_header=True)
        errors.add_column("来源")
        errors.add_column("错误")
        for entry in failed[:20]:
            first = entry.item.errors[0] if entry.item.errors else None
            more = f"（另有{len(entry.item.errors) - 1}处）" if len(entry.item.errors) > 1 else ""
            errors.add_row(
                entry.item.source, f"{first.path} {first.message}{more}" if first else ""
            )
        if len(failed) > 20:
            errors.caption = f"另有{len(failed) - 20}项，见 manifest.csv"
        console.print(errors)
