"""Console drafts and batch files in the store, on both backends: saved per company, overwritten,
listed newest first, hidden from other companies, deleted."""

from __future__ import annotations

from service.store import Store
from service.store.drafts import BatchFiles, DraftRows


async def test_drafts_per_company(store: Store) -> None:
    rows = DraftRows(store.db)
    first = await rows.save(
        None, company_id="xiaokang-life", title="小康人寿 · 2024年度", payload="{}", by="合规部"
    )
    other = await rows.save(
        None, company_id="other-co", title="其他 · 2024年度", payload='{"a": 1}', by="b",
        base_document="doc_abc",
    )  # fmt: skip
    again = await rows.save(
        first.id, company_id="xiaokang-life", title="小康人寿 · 2025年度", payload='{"b": 2}',
        by="张三",
    )  # fmt: skip
    assert again.id == first.id
    assert (again.created_by, again.updated_by) == ("合规部", "张三")
    assert again.updated_at >= first.updated_at
    # An id of another company's draft does not overwrite it: a new draft is made.
    stolen = await rows.save(
        other.id, company_id="xiaokang-life", title="x", payload="{}", by="合规部"
    )
    assert stolen.id != other.id
    found = await rows.get(other.id, ["other-co"])
    assert found is not None and found.payload == '{"a": 1}'
    assert found.base_document == "doc_abc"

    assert await rows.get(first.id, ["other-co"]) is None
    mine = await rows.list(["xiaokang-life"])
    assert {d.id for d in mine} == {stolen.id, first.id}
    assert [d.updated_at for d in mine] == sorted((d.updated_at for d in mine), reverse=True)
    saved = next(d for d in mine if d.id == first.id)
    assert saved.title == "小康人寿 · 2025年度" and saved.payload == '{"b": 2}'
    assert {d.id for d in await rows.list(["*"])} == {first.id, other.id, stolen.id}
    assert not await rows.delete(first.id, ["other-co"])
    assert await rows.delete(first.id, ["xiaokang-life"])
    assert await rows.get(first.id, ["*"]) is None


async def test_batch_files_recorded_once(store: Store) -> None:
    files = BatchFiles(store.db)
    await files.record("bat_1", "小康-2019-2024.ndjson", "合规部")
    await files.record("bat_1", "again.ndjson", "someone")
    assert await files.of(["bat_1", "bat_2"]) == {"bat_1": ("小康-2019-2024.ndjson", "合规部")}
    assert await files.of([]) == {}
