"""``run_batch``: outputs named for people, failures reported, resumable, exit status."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import time
from pathlib import Path
from typing import Literal

import pikepdf
import pytest
from rich.console import Console
from sqlalchemy import update

from service.errors import FieldError
from service.jobs.batch_cli import STATE_DIR, run_batch
from service.jobs.render import RenderOutcome
from service.settings import Settings
from service.store import open_store
from service.store.models import sha256_hex
from service.store.schema import batch_items, batches
from tests.conftest import QUICK_EXAMPLES
from tests.jobs import item_tasks
from tests.store.fakes import FakeRender, payload

STEM = "消费者权益保护工作重大信息披露"


def console() -> Console:
    return Console(record=True, width=120, force_terminal=False)


def summary_value(text: str, label: str) -> str:
    line = next(line for line in text.splitlines() if label in line)
    return line.split("│")[-2].strip()


@pytest.mark.slow
def test_every_item_as_a_plain_pdf_on_request(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(QUICK_EXAMPLES[0], source / QUICK_EXAMPLES[0].name)
    out = tmp_path / "out"
    assert run_batch(source, out, workers=1, console=console(), pdf_variant="plain") == 0
    (pdf,) = out.glob("*.pdf")
    with pikepdf.open(pdf) as reader:
        assert "/StructTreeRoot" not in reader.Root and not reader.attachments, "plain: untagged"


@pytest.mark.slow
def test_folder_real_render_then_resume(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    quick = QUICK_EXAMPLES
    for example in quick:
        shutil.copy(example, source / example.name)
    broken = json.loads(quick[0].read_text(encoding="utf-8"))
    broken["publish_date"] = f"{broken['report_year'] - 1}-06-30"
    (source / "zz-broken.json").write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"

    first = console()
    assert run_batch(source, out, workers=1, console=first) == 1
    text = first.export_text()
    assert summary_value(text, "成功") == "2" and summary_value(text, "失败") == "1"
    assert "zz-broken.json" in text and "publish_date" in text
    names = sorted(p.name for p in out.iterdir() if p.is_file())
    assert names == sorted(
        [f"{c}-{y}-{STEM}.{fmt}" for c, y in (("安和人寿", 2024), ("康宁财险", 2022))
         for fmt in ("pdf", "docx")] + ["manifest.csv", "manifest.json"]
    )  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for row in manifest["items"]:
        for file in row["files"].values():
            assert sha256_hex((out / file["name"]).read_bytes()) == file["sha256"]
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")}

    second = console()
    assert run_batch(source, out, workers=1, console=second) == 1
    assert summary_value(second.export_text(), "本次渲染") == "0"
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")} == stamps, (
        "unchanged files not rewritten"
    )

    (source / "zz-broken.json").unlink()
    third = console()
    assert run_batch(source, out, workers=1, console=third) == 0
    text = third.export_text()
    assert summary_value(text, "本次渲染") == "0" and summary_value(text, "沿用已有结果") == "2"


def test_ndjson_resumes_after_a_crash(tmp_path: Path) -> None:
    source = tmp_path / "batch.ndjson"
    source.write_bytes(b"\n".join(payload(n=i, year=2019 + i) for i in range(4)) + b"\n")
    out = tmp_path / "out"
    render = FakeRender()
    assert run_batch(source, out, workers=2, render=render, console=console()) == 0
    assert sum(render.calls.values()) == 4

    async def crash_mid_item() -> None:
        """As if a run died after storing item 1's document but before marking it done, with
        an hour left on its lease."""
        async with await open_store(None, out / STATE_DIR) as store:
            (batch,) = (await store.batches.list()).items
            async with store.db.write() as conn:
                await conn.execute(
                    update(batch_items).where(batch_items.c.batch_id == batch.id, batch_items.c.idx == 1)
                    .values(state="running", lease_owner="dead", lease_expires_at=9e12, document_id=None,
                            version=None, finished_at=None)
                )  # fmt: skip
                await conn.execute(
                    update(batches).where(batches.c.id == batch.id)
                    .values(done_count=batches.c.done_count - 1, finished_at=None)
                )  # fmt: skip

    asyncio.run(crash_mid_item())
    render.calls.clear()
    out_console = console()
    assert (
        run_batch(source, out, workers=2, render=render, console=out_console, lease_seconds=3600)
        == 0
    )
    assert sum(render.calls.values()) == 0, "the document existed; the item only needed finishing"
    assert summary_value(out_console.export_text(), "成功") == "4"
    assert len(list(out.glob("*.pdf"))) == 4


def test_resume_rewrites_exactly_the_outputs_missing_or_changed(tmp_path: Path) -> None:
    """The export writes what its manifest names (the hashes read back from the folder); run
    again, it rewrites a deleted file and an edited one and leaves the others alone."""
    source = tmp_path / "batch.ndjson"
    source.write_bytes(b"\n".join(payload(n=i, year=2019 + i) for i in range(3)) + b"\n")
    out = tmp_path / "out"
    render = FakeRender()
    first = console()
    assert run_batch(source, out, workers=2, render=render, console=first) == 0
    assert summary_value(first.export_text(), "写入文件") == "6"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = {f["name"]: f["sha256"] for row in manifest["items"] for f in row["files"].values()}
    assert {name: sha256_hex((out / name).read_bytes()) for name in files} == files
    deleted, edited, *kept = sorted(files)
    (out / deleted).unlink()
    (out / edited).write_bytes(b"edited")
    stamps = {name: (out / name).stat().st_mtime_ns for name in kept}

    second = console()
    assert run_batch(source, out, workers=2, render=render, console=second) == 0
    assert summary_value(second.export_text(), "写入文件") == "2"
    assert {name: sha256_hex((out / name).read_bytes()) for name in files} == files
    assert {name: (out / name).stat().st_mtime_ns for name in kept} == stamps
    assert not list(out.glob(".tmp-*"))


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_a_hanging_item_is_killed_and_fails_while_the_others_finish(
    tmp_path: Path, start_method: Literal["spawn", "forkserver"]
) -> None:
    """The items render on the server's worker pool with its time limit: the worker of the
    item that hangs is killed, the item fails with ``render_timeout``, the rest are written;
    no worker, and no fork server, is left running."""
    pid_file = tmp_path / "hung-worker.pid"
    source = tmp_path / "batch.ndjson"
    items = [payload(n=i, year=2019 + i) for i in range(4)]
    items.insert(1, payload(n=9, year=2018, hang=str(pid_file)))
    source.write_bytes(b"\n".join(items) + b"\n")
    out = tmp_path / "out"
    settings = Settings(render_timeout_s=3.0, worker_start_method=start_method)
    started = time.monotonic()
    code = run_batch(source, out, workers=2, settings=settings, task=item_tasks.render_or_hang,
                     warm_up=item_tasks.warm_up, console=console())  # fmt: skip
    assert code == 1
    assert time.monotonic() - started < 60, "the hanging render was waited for"
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # its worker is gone
    assert not multiprocessing.active_children(), "every worker is reaped"
    assert multiprocessing.forkserver._forkserver._forkserver_pid is None  # type: ignore[attr-defined]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    states = [(row["index"], row["state"]) for row in manifest["items"]]
    assert states == [(0, "done"), (1, "failed"), (2, "done"), (3, "done"), (4, "done")]
    assert [e["code"] for e in manifest["items"][1]["errors"]] == ["render_timeout"]
    assert len(list(out.glob("*.pdf"))) == len(list(out.glob("*.docx"))) == 4


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", 2), (b"[{]", 2), (b'{"company": {"id": "x"}}\n{oops\n', 1)],
    ids=["empty", "broken-array", "one-bad-line"],
)
def test_bad_input_exit_status(tmp_path: Path, content: bytes, code: int) -> None:
    source = tmp_path / "in.ndjson"
    source.write_bytes(content)

    async def fail_all(raw: bytes) -> RenderOutcome:
        return RenderOutcome(None, (FieldError("$", "x", "坏"),))

    assert (
        run_batch(source, tmp_path / "out", workers=1, render=fail_all, console=console()) == code
    )


def test_second_run_on_same_out_is_refused_while_locked(tmp_path: Path) -> None:
    import fcntl
    import os

    source = tmp_path / "in.ndjson"
    source.write_bytes(payload() + b"\n")
    out = tmp_path / "out"
    (out / STATE_DIR).mkdir(parents=True)
    fd = os.open(out / STATE_DIR / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert run_batch(source, out, workers=1, render=FakeRender(), console=console()) == 2
    finally:
        os.close(fd)
