"""The document store on both backends: versions, manifests, idempotency, listing, access."""

from __future__ import annotations

import asyncio

import pytest

from service.errors import DocumentMismatch, IdempotencyConflict, InvalidCursor, NotFound
from service.store import Store, WriteResult
from service.store.models import sha256_hex
from tests.store.fakes import FONTS, payload, rendered_for


async def create(
    store: Store, raw: bytes, key: str | None = None, scope: str = "k1"
) -> WriteResult:
    return await store.documents.create(raw, rendered_for(raw), idempotency_key=key, scope=scope)


async def test_create_records_manifest_and_outputs(store: Store) -> None:
    raw = payload()
    result = await create(store, raw)
    doc = result.document
    assert not result.replayed
    assert (doc.company_id, doc.report_year, doc.kind, doc.latest_version) == (
        "xiaokang-life", 2023, "consumer-protection-annual", 1,
    )  # fmt: skip
    manifest = doc.version.manifest
    assert manifest.payload_sha256 == sha256_hex(raw)
    assert manifest.template_version == "consumer-protection-annual/2023"
    assert manifest.house_style_version == "0123456789abcdef"
    assert dict(manifest.fonts) == FONTS
    assert set(manifest.libraries) == {
        "python",
        "weasyprint",
        "python-docx",
        "pydantic",
        "fonttools",
    }
    for fmt in ("pdf", "docx"):
        data, info = await store.documents.read_output(doc.id, fmt)
        assert sha256_hex(data) == info.sha256 == manifest.outputs[fmt].sha256
        assert info.filename == f"小康人寿-2023-消费者权益保护工作重大信息披露.{fmt}"
    assert await store.documents.read_payload(doc.id) == raw
    assert (await store.documents.get(doc.id)).as_dict()["manifest"] == manifest.as_dict()


async def test_create_answers_what_a_read_gives_and_get_many_the_same(store: Store) -> None:
    """The document a create answers (built from what it wrote, not read back) is the one
    :meth:`get` reads; :meth:`get_many` reads the same, one query for many, and leaves out a
    version that does not exist."""
    first = (await create(store, payload())).document
    assert first == await store.documents.get(first.id, version=1)
    again = await store.documents.create(payload(), rendered_for(payload()), by_identity=True)
    assert again.document == await store.documents.get(first.id, version=2)
    first = await store.documents.get(first.id, version=1)  # its latest version is 2 now
    other = (await create(store, payload(n=1))).document
    found = await store.documents.get_many(
        [(first.id, 1), (first.id, 2), (other.id, 1), (other.id, 7)]
    )
    assert found == {
        (first.id, 1): first, (first.id, 2): again.document, (other.id, 1): other,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("second_payload", "second_scope", "outcome"),
    [
        (payload(), "k1", "replayed"),
        (payload(n=1), "k1", "conflict"),
        (payload(n=1), "k2", "new"),
    ],
    ids=["same-key-same-payload", "same-key-other-payload", "same-key-other-scope"],
)
async def test_idempotency_keys(
    store: Store, second_payload: bytes, second_scope: str, outcome: str
) -> None:
    first = await create(store, payload(), key="abc")
    if outcome == "conflict":
        with pytest.raises(IdempotencyConflict):
            await create(store, second_payload, key="abc", scope=second_scope)
        return
    second = await create(store, second_payload, key="abc", scope=second_scope)
    assert second.replayed == (outcome == "replayed")
    assert (second.document.id == first.document.id) == (outcome == "replayed")


async def test_racing_creates_with_one_key_make_one_document(store: Store) -> None:
    raw = payload()
    results = await asyncio.gather(*(create(store, raw, key="race") for _ in range(6)))
    assert len({r.document.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert len((await store.documents.list()).items) == 1


async def test_regenerate_keeps_earlier_versions(store: Store) -> None:
    first = (await create(store, payload(n=1))).document
    corrected = payload(n=2)
    second = await store.documents.regenerate(first.id, corrected, rendered_for(corrected))
    assert second.document.id == first.id
    assert second.document.version.version == second.document.latest_version == 2
    versions = await store.documents.versions(first.id)
    assert [v.version for v in versions] == [1, 2]
    old_pdf, old_info = await store.documents.read_output(first.id, "pdf", version=1)
    new_pdf, _ = await store.documents.read_output(first.id, "pdf")
    assert old_info.sha256 == first.version.manifest.outputs["pdf"].sha256 == sha256_hex(old_pdf)
    assert old_pdf != new_pdf
    assert await store.documents.read_payload(first.id, version=1) == payload(n=1)


async def test_regenerate_replay_and_mismatch(store: Store) -> None:
    doc = (await create(store, payload())).document
    again = payload(n=5)
    a = await store.documents.regenerate(
        doc.id, again, rendered_for(again), idempotency_key="r", scope="s"
    )
    b = await store.documents.regenerate(
        doc.id, again, rendered_for(again), idempotency_key="r", scope="s"
    )
    assert (a.replayed, b.replayed) == (False, True)
    assert a.document.version.version == b.document.version.version == 2
    other_year = payload(year=2022)
    with pytest.raises(DocumentMismatch):
        await store.documents.regenerate(doc.id, other_year, rendered_for(other_year))
    assert (await store.documents.get(doc.id)).latest_version == 2


async def test_list_filters_pages_newest_first(store: Store) -> None:
    ids = []
    for n, (company, year) in enumerate(
        [
            ("xiaokang-life", 2022),
            ("xiaokang-life", 2023),
            ("anhe-life", 2023),
            ("xiaokang-life", 2023),
        ]
    ):
        ids.append((await create(store, payload(company, year, n))).document.id)
    everything = await store.documents.list()
    assert [d.id for d in everything.items] == ids[::-1]
    assert everything.next_cursor is None
    page1 = await store.documents.list(company_id="xiaokang-life", limit=2)
    page2 = await store.documents.list(
        company_id="xiaokang-life", limit=2, cursor=page1.next_cursor
    )
    assert [d.id for d in page1.items] == [ids[3], ids[1]]
    assert [d.id for d in page2.items] == [ids[0]] and page2.next_cursor is None
    assert [d.id for d in (await store.documents.list(report_year=2023, kind="consumer-protection-annual")).items] == [
        ids[3], ids[2], ids[1],
    ]  # fmt: skip
    with pytest.raises(InvalidCursor):
        await store.documents.list(cursor="not-a-cursor")


@pytest.mark.parametrize(
    ("allowed", "visible"),
    [(None, True), ({"xiaokang-life"}, True), ({"anhe-life"}, False), (set(), False)],
)
async def test_allowed_companies_hide_other_documents(
    store: Store, allowed: set[str] | None, visible: bool
) -> None:
    doc = (await create(store, payload("xiaokang-life"))).document
    listed = await store.documents.list(allowed_companies=allowed)
    assert ([d.id for d in listed.items] == [doc.id]) == visible
    if visible:
        assert (await store.documents.get(doc.id, allowed_companies=allowed)).id == doc.id
        return
    for call in (
        store.documents.get(doc.id, allowed_companies=allowed),
        store.documents.versions(doc.id, allowed_companies=allowed),
        store.documents.read_output(doc.id, "pdf", allowed_companies=allowed),
    ):
        with pytest.raises(NotFound):
            await call
    again = payload(n=9)
    with pytest.raises(NotFound):
        await store.documents.regenerate(
            doc.id, again, rendered_for(again), allowed_companies=allowed
        )


async def test_unknown_document_version_and_format(store: Store) -> None:
    doc = (await create(store, payload())).document
    for call in (
        store.documents.get("doc_missing"),
        store.documents.get(doc.id, version=2),
        store.documents.read_output(doc.id, "odt"),
    ):
        with pytest.raises(NotFound):
            await call
