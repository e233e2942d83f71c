"""Intruders at the archive, batch and console doors: another company's key on every route the
application has, odd and traversing ids, webhooks aimed inside, and oversized batches.

The application runs in this process with the fake pipeline (instant "documents" whose bytes
carry the payload's title), so every route can be tried in a few seconds. The route list is
read from the application's router: a route added later without a case here fails
``test_every_route_has_an_intruder_case``, and each route's case is its own test.

Nothing here reaches beyond loopback: internal addresses other than 127.0.0.1 are refused
before any connection, and name lookups are replaced by fakes (a broken guard would reach the
test's own listener, never another host).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from service import PROJECT_ROOT
from service.api.state import STORE
from service.jobs import webhook
from service.jobs.parse import item_from_bytes
from service.server import build_app
from service.store import Store, Webhook
from service.store.drafts import DraftRows
from tests.api import fakes
from tests.api.conftest import (
    FAKE_BACKEND,
    KEY_ALL,
    KEY_OTHER,
    KEY_XIAOKANG,
    make_settings,
    serving,
)
from tests.jobs.webhook_targets import loopback_urls
from tests.store.fakes import payload, rendered_for

VICTIM = "xiaokang-life"
INTRUDER = "other-co"  # the only company KEY_OTHER may use
MARKER = "机密标题-victim-Q7xW"
"""The victim's stored title: it is in its payloads, outputs, file names and manifests, so an
answer that carries any of them carries this."""
WEBHOOK_SECRET = "victim-webhook-secret-Zk41mQ"
WEBHOOK_URL = "https://hooks.victim.invalid/pilu"
ODD_IDS = [
    "..",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2f..%2f..%2fpyproject.toml",
    "%2fetc%2fpasswd",
    "%2F%2Fetc%2Fpasswd",
    "..%5c..%5cwindows",
    "doc_0123456789abcdef0123%00",
    "%00",
    "a%0d%0aSet-Cookie:%20x=1",
    "d" * 5000,
    "%E5%B0%8F%E5%BA%B7",  # 小康
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    "%FF%FE",
    "%F0%9F%98%80",  # an emoji
    "doc_%E2%80%AE0123",  # a bidi override
    "*",
    "%25",
    "%27%20OR%20%271%27=%271",
]


def victim_payload(year: int = 2023) -> bytes:
    """A payload the fake pipeline renders, with the victim's marker as its title."""
    body = fakes.payload(VICTIM, title=MARKER)
    body["report_year"] = year
    return json.dumps(body, ensure_ascii=False).encode()


def attempt(company: str = VICTIM) -> bytes:
    """What an intruder sends: a payload for ``company`` (never with the victim's marker)."""
    return json.dumps(
        {"company": {"id": company, "short_name": "冒名"}, "report_year": 2024, "title": "试图"},
        ensure_ascii=False,
    ).encode()


@dataclass
class World:
    client: TestClient[Any, Any]
    store: Store
    doc: str
    batch: str
    mixed_batch: str
    own_doc: str
    draft: str = ""
    """The victim's draft in the console's form."""
    secrets: list[bytes] = field(default_factory=list)
    """Bytes that only the victim's stored data holds: ids, hashes, the marker, the webhook."""
    csrf: str = ""


async def _refuse_lookups(host: str, port: int | None, family: int = 0) -> list[Any]:
    raise webhook.Refused("no name lookups in these tests")


async def _sign_in(client: TestClient[Any, Any], key: str) -> str:
    page = await (await client.get("/console/sign-in")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    response = await client.post(
        "/console/sign-in", data={"csrf": token.group(1), "api_key": key}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    home = await (await client.get("/console/")).text()
    found = re.search(r'name="csrf" value="([^"]+)"', home)
    assert found is not None
    return found.group(1)


async def _seed(store: Store) -> tuple[str, str, str, str, list[bytes]]:
    raw = victim_payload()
    created = await store.documents.create(raw, rendered_for(raw))
    doc = created.document
    await store.documents.regenerate(doc.id, victim_payload(), rendered_for(victim_payload()))
    items = [
        item_from_bytes(victim_payload(y), f"line {i + 1}") for i, y in enumerate((2022, 2023))
    ]
    batch = await store.batches.create(items, webhook=Webhook(WEBHOOK_URL, WEBHOOK_SECRET))
    mixed = await store.batches.create(
        [item_from_bytes(victim_payload(), "line 1"), item_from_bytes(attempt(INTRUDER), "line 2")]
    )
    own_raw = payload(INTRUDER, 2023)
    own = await store.documents.create(own_raw, rendered_for(own_raw))
    hashes = [o.sha256 for o in doc.version.manifest.outputs.values()]
    hashes.append(doc.version.manifest.payload_sha256)
    secrets = [s.encode() for s in (MARKER, doc.id, batch.batch.id, mixed.batch.id, *hashes)]
    secrets += [WEBHOOK_SECRET.encode(), WEBHOOK_URL.encode(), raw]
    fake = rendered_for(raw)
    secrets += [fake.output_bytes(fmt) for fmt in fake.outputs]
    return doc.id, batch.batch.id, mixed.batch.id, own.document.id, secrets


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world() -> AsyncIterator[World]:
    """One application for the module (fake pipeline, in-process renders), the victim's
    documents (two versions) and batches (one with a webhook, one mixed with the intruder's
    company), and a client signed in to the console with the intruder's key. The tests only
    read it, and check that the intruder changed nothing."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(webhook, "lookup", _refuse_lookups)
        app = build_app(make_settings(shutdown_grace_s=0.5), backend=FAKE_BACKEND)
        async with serving(app) as client:
            store = app[STORE]
            doc, batch, mixed, own, secrets = await _seed(store)
            world = World(client, store, doc, batch, mixed, own, secrets=secrets)
            draft = await DraftRows(store.db).save(
                None,
                company_id=VICTIM,
                title=MARKER,
                payload=victim_payload().decode(),
                by="victim",
            )
            world.draft = draft.id
            world.secrets.append(draft.id.encode())
            await _wait_batches_finished(store, [batch, mixed])
            world.csrf = await _sign_in(client, KEY_OTHER)
            yield world


async def _wait_batches_finished(store: Store, ids: list[str], timeout_s: float = 20) -> None:
    """The background runner renders the batches (so their archives hold files to leak)."""
    deadline = time.monotonic() + timeout_s
    for batch_id in ids:
        while (await store.batches.get(batch_id)).state != "finished":
            assert time.monotonic() < deadline, f"batch {batch_id} did not finish"
            await asyncio.sleep(0.05)


# --- every route, another company's key -------------------------------------------------------

API = {"Authorization": f"Bearer {KEY_OTHER}"}
NDJSON = {**API, "Content-Type": "application/x-ndjson"}
DOCX = {
    **API,
    "Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None


Expect = str
"""``hidden``: 403 or 404, no file, no metadata; ``listed``: 200 without the victim's data;
``public``: no key needed, nothing of the victim in it; ``redirect``: 3xx to a console page."""

Case = Callable[[World], list[tuple[Request, Expect]]]


def _form(world: World, **fields: str) -> dict[str, str]:
    return {"csrf": world.csrf, **fields}


def _json_csrf(world: World) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-CSRF-Token": world.csrf}


def _doc_routes(suffix: str, expect: Expect = "hidden") -> Case:
    def case(w: World) -> list[tuple[Request, Expect]]:
        return [
            (Request("GET", f"/v1/documents/{w.doc}{suffix}", API), expect),
            (Request("GET", f"/v1/documents/{w.doc}{suffix}?version=1", API), expect),
        ]

    return case


def _batch_routes(suffix: str) -> Case:
    def case(w: World) -> list[tuple[Request, Expect]]:
        return [
            (Request("GET", f"/v1/batches/{b}{suffix}", API), "hidden")
            for b in (w.batch, w.mixed_batch)
        ] + [
            (Request("GET", f"/v1/batches/{w.batch}{suffix}?state=done&limit=1000", API), "hidden")
        ]

    return case


def _console_batch(suffix: str) -> Case:
    def case(w: World) -> list[tuple[Request, Expect]]:
        return [
            (Request("GET", f"/console/batches/{b}{suffix}"), "hidden")
            for b in (w.batch, w.mixed_batch)
        ]

    return case


CASES: dict[str, Case] = {
    "POST /v1/render": lambda w: [(Request("POST", "/v1/render", API, attempt()), "hidden")],
    "POST /v1/validate": lambda w: [(Request("POST", "/v1/validate", API, attempt()), "hidden")],
    "POST /v1/documents": lambda w: [(Request("POST", "/v1/documents", API, attempt()), "hidden")],
    "GET /v1/documents": lambda w: [
        (Request("GET", "/v1/documents", API), "listed"),
        (Request("GET", f"/v1/documents?company={VICTIM}", API), "listed"),
        (Request("GET", "/v1/documents?year=2023&kind=consumer-protection-annual", API), "listed"),
    ],
    "GET /v1/documents/{id}": _doc_routes(""),
    "GET /v1/documents/{id}/versions": _doc_routes("/versions"),
    "POST /v1/documents/{id}/versions": lambda w: [
        (Request("POST", f"/v1/documents/{w.doc}/versions", API), "hidden"),
        (Request("POST", f"/v1/documents/{w.doc}/versions", API, attempt(INTRUDER)), "hidden"),
        (Request("POST", f"/v1/documents/{w.doc}/versions", API, attempt()), "hidden"),
        (Request("POST", f"/v1/documents/{w.doc}/versions", DOCX, b"PK\x03\x04"), "hidden"),
        (
            Request(
                "POST", f"/v1/documents/{w.doc}/versions?mode=best-effort", DOCX, b"PK\x03\x04"
            ),
            "hidden",
        ),
    ],  # fmt: skip
    "GET /v1/documents/{id}/payload": _doc_routes("/payload"),
    "GET /v1/documents/{id}/diff": _doc_routes("/diff"),
    "GET /v1/documents/{id}/uploaded-docx": _doc_routes("/uploaded-docx"),
    "GET /v1/documents/{id}/pdf": _doc_routes("/pdf"),
    "GET /v1/documents/{id}/docx": _doc_routes("/docx"),
    "GET /v1/documents/{id}/parity": _doc_routes("/parity"),
    "POST /v1/batches": lambda w: [
        (Request("POST", "/v1/batches", NDJSON, attempt()), "hidden"),
        (Request("POST", "/v1/batches", NDJSON, attempt(INTRUDER) + b"\n" + attempt()), "hidden"),
        (
            Request(
                "POST",
                "/v1/batches",
                {**API, "Content-Type": "application/json"},
                b"[" + attempt() + b"]",
            ),
            "hidden",
        ),
    ],
    "GET /v1/batches": lambda w: [(Request("GET", "/v1/batches?limit=200", API), "listed")],
    "GET /v1/batches/{id}": _batch_routes(""),
    "GET /v1/batches/{id}/archive": _batch_routes("/archive"),
    "GET /v1/schema": lambda w: [(Request("GET", "/v1/schema"), "public")],
    "GET /healthz": lambda w: [(Request("GET", "/healthz"), "public")],
    "GET /readyz": lambda w: [(Request("GET", "/readyz"), "public")],
    "GET /metrics": lambda w: [(Request("GET", "/metrics"), "public")],
    "GET /openapi.json": lambda w: [(Request("GET", "/openapi.json"), "public")],
    "GET /docs": lambda w: [(Request("GET", "/docs"), "public")],
    # the console, signed in with the intruder's key
    "GET /": lambda w: [(Request("GET", "/"), "redirect")],
    "GET /console": lambda w: [(Request("GET", "/console"), "redirect")],
    "GET /console/": lambda w: [
        (Request("GET", "/console/"), "listed"),
        (Request("GET", f"/console/?company={VICTIM}&year=2023"), "listed"),
    ],
    "GET /console/sign-in": lambda w: [(Request("GET", "/console/sign-in"), "redirect")],
    "POST /console/sign-in": lambda w: [
        (Request("POST", "/console/sign-in", data={"csrf": "x", "api_key": KEY_XIAOKANG}), "hidden")
    ],
    "POST /console/sign-out": lambda w: [
        (Request("POST", "/console/sign-out", data={"csrf": "forged"}), "hidden")
    ],
    "GET /console/documents/{document_id}": lambda w: [
        (Request("GET", f"/console/documents/{w.doc}"), "hidden"),
        (Request("GET", f"/console/documents/{w.doc}?version=2"), "hidden"),
    ],
    "GET /console/documents/{document_id}/versions/{version}/{fmt}": lambda w: [
        (Request("GET", f"/console/documents/{w.doc}/versions/{v}/{f}"), "hidden")
        for v in (1, 2)
        for f in ("pdf", "docx")
    ],
    "GET /console/documents/{document_id}/versions/{version}/pages/{page}.png": lambda w: [
        (Request("GET", f"/console/documents/{w.doc}/versions/1/pages/1.png"), "hidden")
    ],
    "POST /console/documents/{document_id}/regenerate": lambda w: [
        (Request("POST", f"/console/documents/{w.doc}/regenerate", data=_form(w)), "hidden")
    ],
    "GET /console/documents/{document_id}/versions/{version}/diff": lambda w: [
        (Request("GET", f"/console/documents/{w.doc}/versions/2/diff"), "hidden")
    ],
    "POST /console/documents/{document_id}/revisions": lambda w: [
        (Request("POST", f"/console/documents/{w.doc}/revisions", data="docx-upload"), "hidden")
    ],
    "GET /console/documents/{document_id}/next-year.json": lambda w: [
        (Request("GET", f"/console/documents/{w.doc}/next-year.json"), "hidden")
    ],
    "POST /console/documents/{document_id}/next-year/check": lambda w: [
        (
            Request(
                "POST",
                f"/console/documents/{w.doc}/next-year/check",
                data=_form(w, payload=attempt(INTRUDER).decode()),
            ),
            "hidden",
        )
    ],
    "POST /console/tables/import": lambda w: [
        (
            Request(
                "POST",
                "/console/tables/import",
                data=_form(
                    w, target="$.figures.complaints.direct.breakdowns[0]", text="名称\t件数\na\t1"
                ),
            ),
            "listed",
        )
    ],
    "GET /console/new": lambda w: [
        (Request("GET", "/console/new"), "listed"),
        (Request("GET", f"/console/new?draft={w.draft}"), "hidden"),
    ],
    "GET /console/form/schema.json": lambda w: [
        (Request("GET", "/console/form/schema.json"), "listed")
    ],
    "POST /console/form/live.json": lambda w: [
        (Request("POST", "/console/form/live.json", _json_csrf(w), attempt()), "listed"),
        (
            Request(
                "POST", f"/console/form/live.json?base={w.doc}", _json_csrf(w), attempt(INTRUDER)
            ),
            "hidden",
        ),
    ],  # fmt: skip
    "POST /console/drafts.json": lambda w: [
        (
            Request(
                "POST", "/console/drafts.json", _json_csrf(w), b'{"payload": ' + attempt() + b"}"
            ),
            "hidden",
        ),
        (
            Request(
                "POST",
                "/console/drafts.json",
                _json_csrf(w),
                b'{"id": "' + w.draft.encode() + b'", "payload": ' + attempt(INTRUDER) + b"}",
            ),
            "listed",
        ),
    ],  # fmt: skip
    "POST /console/drafts/{draft_id}/delete": lambda w: [
        (Request("POST", f"/console/drafts/{w.draft}/delete", data=_form(w)), "redirect")
    ],
    "POST /console/new/pages.json": lambda w: [
        (
            Request(
                "POST",
                "/console/new/pages.json",
                data=_form(w, payload_b64=base64.b64encode(attempt()).decode()),
            ),
            "hidden",
        )
    ],  # fmt: skip
    "GET /console/new/pages/{sha256}/{page}.png": lambda w: [
        (Request("GET", f"/console/new/pages/{'0' * 64}/1.png"), "hidden")
    ],
    "GET /console/help": lambda w: [(Request("GET", "/console/help"), "listed")],
    "GET /favicon.ico": lambda w: [(Request("GET", "/favicon.ico"), "redirect")],
    "POST /console/new": lambda w: [
        (Request("POST", "/console/new", data=_form(w, payload=attempt().decode())), "hidden")
    ],
    "POST /console/new/generate": lambda w: [
        (
            Request(
                "POST",
                "/console/new/generate",
                data=_form(w, payload_b64=base64.b64encode(attempt()).decode()),
            ),
            "hidden",
        )
    ],
    "GET /console/batches": lambda w: [(Request("GET", "/console/batches"), "listed")],
    "POST /console/batches": lambda w: [
        (Request("POST", "/console/batches", data="upload"), "refused-upload")
    ],
    "GET /console/batches/{batch_id}": _console_batch(""),
    "GET /console/batches/{batch_id}/status": _console_batch("/status"),
    "GET /console/batches/{batch_id}/events": _console_batch("/events"),
    "GET /console/batches/{batch_id}/archive": _console_batch("/archive"),
    "GET /console/fonts/pilu-hei.otf": lambda w: [
        (Request("GET", "/console/fonts/pilu-hei.otf"), "public")
    ],
    "GET /console/static": lambda w: [(Request("GET", "/console/static/console.css"), "public")],
    "* /console/{tail}": lambda w: [
        (Request("GET", f"/console/{w.doc}"), "hidden"),
        (Request("DELETE", f"/console/documents/{w.doc}"), "hidden"),
    ],
}
"""Route (``METHOD canonical`` as the router names it; HEAD routes use their GET case) to the
requests an intruder makes there and what each must get."""


def _route_keys() -> list[str]:
    """Every route of a freshly made application, as ``METHOD canonical``."""
    app = build_app(make_settings(), backend=FAKE_BACKEND)
    keys = set()
    for route in app.router.routes():
        method = "GET" if route.method == "HEAD" else route.method
        keys.add(f"{method} {route.resource.canonical if route.resource else route.name}")
    return sorted(keys)


ROUTES = _route_keys()


def test_every_route_has_an_intruder_case() -> None:
    missing = [r for r in ROUTES if r not in CASES]
    assert not missing, f"routes without an intruder case in {__file__}: {missing}"
    stale = [c for c in CASES if c not in ROUTES]
    assert not stale, f"cases for routes that no longer exist: {stale}"


def raw_url(client: TestClient[Any, Any], path: str) -> URL:
    """``path`` sent as it is: no dot segments resolved, no escapes changed by the client."""
    return URL(str(client.make_url("/")).rstrip("/") + path, encoded=True)


async def _send(world: World, request: Request) -> tuple[int, dict[str, str], bytes]:
    data = request.data
    if data == "upload":
        from aiohttp import FormData

        data = FormData()
        data.add_field("csrf", world.csrf)
        data.add_field("file", attempt() + b"\n", filename="batch.ndjson")
    elif data == "docx-upload":
        from aiohttp import FormData

        data = FormData()
        data.add_field("csrf", world.csrf)
        data.add_field("docx", b"PK\x03\x04", filename="edited.docx")
    response = await world.client.request(
        request.method, request.path, headers=request.headers, data=data, allow_redirects=False
    )
    body = await response.read()
    return response.status, dict(response.headers), body


def _assert_nothing_of_the_victim(world: World, request: Request, body: bytes) -> None:
    """None of the victim's bytes, except what the request itself named (a 404 may echo the
    id it was asked for)."""
    asked = request.path.encode() + (request.data if isinstance(request.data, bytes) else b"")
    where = f"{request.method} {request.path[:80]}"
    for secret in world.secrets:
        if secret not in asked:
            assert secret not in body, f"{where}: the answer holds {secret[:40]!r}"


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.asyncio(loop_scope="module")
async def test_another_companys_key_gets_nothing(world: World, route: str) -> None:
    """For every route: the intruder's requests get 403/404 (or a listing without the victim),
    never a file, a name, a hash, an id or the webhook of the victim; and nothing changed."""
    case = CASES.get(route)
    assert case is not None, f"{route} has no intruder case: add one to CASES"
    before = await world.store.documents.versions(world.doc)
    for request, expect in case(world):
        where = f"{request.method} {request.path[:80]}"
        status, headers, body = await _send(world, request)
        _assert_nothing_of_the_victim(world, request, body)
        assert "Content-Disposition" not in headers or expect == "public", where
        if expect == "hidden":
            assert status in (401, 403, 404, 405), (where, status, body[:300])
            if request.path.startswith("/v1/"):
                error = json.loads(body)["error"]
                assert set(error) == {"code", "message", "details"}, where
        elif expect == "refused-upload":
            assert status in (403, 422), (where, status)
        elif expect == "redirect":
            assert 300 <= status < 400, (where, status)
            assert headers["Location"].startswith("/console/"), where
        else:
            assert status == 200, (where, status, body[:300])
    after = await world.store.documents.versions(world.doc)
    assert len(after) == len(before), "the intruder added a version to the victim's document"
    draft = await DraftRows(world.store.db).get(world.draft, [VICTIM])
    assert draft is not None and draft.title == MARKER, "the intruder changed the victim's draft"
    listed = await world.store.batches.list(allowed_companies=[INTRUDER])
    assert all(VICTIM not in json.dumps(b.as_dict()) for b in listed.items)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_victims_own_key_still_sees_everything(world: World) -> None:
    """The control: the same requests with the victim's key do reach the data (the test above
    would notice a leak), and the webhook's secret and URL are never shown even to the owner."""
    own = {"Authorization": f"Bearer {KEY_XIAOKANG}"}
    response = await world.client.get(f"/v1/documents/{world.doc}/pdf", headers=own)
    assert response.status == 200 and await response.read() in world.secrets
    response = await world.client.get(f"/v1/batches/{world.batch}", headers=own)
    body = await response.read()
    assert response.status == 200 and world.doc.encode() not in body
    assert WEBHOOK_SECRET.encode() not in body and WEBHOOK_URL.encode() not in body
    listed = await (await world.client.get("/v1/documents", headers=own)).json()
    assert world.doc in [d["id"] for d in listed["items"]]
    mixed = await world.client.get(f"/v1/batches/{world.mixed_batch}", headers=own)
    assert mixed.status == 404, "a batch with another company's item is not the victim's either"


# --- odd and traversing ids -------------------------------------------------------------------

API_ID_ROUTES = [
    "/v1/documents/{id}",
    "/v1/documents/{id}/versions",
    "/v1/documents/{id}/pdf",
    "/v1/documents/{id}/docx",
    "/v1/documents/{id}/parity",
    "/v1/batches/{id}",
    "/v1/batches/{id}/archive",
]
CONSOLE_ID_ROUTES = [
    "/console/documents/{id}",
    "/console/documents/{id}/versions/1/pdf",
    "/console/documents/{id}/versions/1/pages/1.png",
    "/console/batches/{id}",
    "/console/batches/{id}/status",
    "/console/batches/{id}/archive",
]
HOST_FILES = [b"root:x:0:0", b"[build-system]", b"PILU_API_KEYS", b"BEGIN PRIVATE KEY"]
"""What /etc/passwd, pyproject.toml, settings code or a key would show if a path escaped."""


@pytest.mark.parametrize("odd", ODD_IDS, ids=lambda s: s[:24])
@pytest.mark.asyncio(loop_scope="module")
async def test_odd_ids_get_a_4xx_in_the_error_shape(world: World, odd: str) -> None:
    keys = {"Authorization": f"Bearer {KEY_ALL}"}  # a key that sees every company
    for template in API_ID_ROUTES:
        path = template.replace("{id}", odd)
        for method in ("GET", "POST") if template.endswith("versions") else ("GET",):
            response = await world.client.session.request(
                method, raw_url(world.client, path), headers=keys
            )
            body = await response.read()
            where = f"{method} {path[:80]}"
            assert 400 <= response.status < 500, (where, response.status, body[:200])
            assert response.content_type == "application/json", where
            error = json.loads(body)["error"]
            assert set(error) == {"code", "message", "details"}, where
            assert len(body) < 2000, f"{where}: the id is echoed at length"
            assert not any(f in body for f in HOST_FILES), where
    for template in CONSOLE_ID_ROUTES:
        path = template.replace("{id}", odd)
        response = await world.client.session.get(
            raw_url(world.client, path), allow_redirects=False
        )
        body = await response.read()
        assert 400 <= response.status < 500, (path[:80], response.status)
        assert response.content_type == "text/html", path[:80]
        assert "Content-Disposition" not in response.headers
        assert not any(f in body for f in HOST_FILES), path[:80]


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/../../../../etc/passwd",
        "/console/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/console/static/..%2f..%2f..%2f..%2fpyproject.toml",
        "/console/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fsettings.py",
        "/console/static//etc/passwd",
        "/console/static/%00",
        "/console/static/" + "a" * 5000,
        "/console/fonts/..%2f..%2fpyproject.toml",
        "/console/%2e%2e/%2e%2e/pyproject.toml",
        "/v1/documents/..%2f..%2f..%2fpyproject.toml/pdf",
        "/v1/batches/..%2f..%2fvar%2fpilu.sqlite3/archive",
    ],
    ids=lambda s: s[:40],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_no_path_leaves_the_static_folder_or_the_store(world: World, path: str) -> None:
    response = await world.client.session.get(
        raw_url(world.client, path),
        headers={"Authorization": f"Bearer {KEY_ALL}"},
        allow_redirects=False,
    )
    body = await response.read()
    assert 400 <= response.status < 500, (path[:60], response.status)
    assert not any(f in body for f in [*HOST_FILES, b"SQLite format 3"]), path[:60]


def test_the_static_folder_holds_no_secrets() -> None:
    """What ``/console/static`` serves is public by design: only front-end files live there."""
    from service.console.pages import STATIC_DIR

    kinds = {p.suffix for p in Path(STATIC_DIR).rglob("*") if p.is_file()}
    assert kinds <= {".css", ".js", ".svg", ".png", ".ico", ".woff2", ".map"}, kinds
    assert Path(STATIC_DIR).resolve().is_relative_to(PROJECT_ROOT.resolve())


# --- webhooks aimed inside --------------------------------------------------------------------


@dataclass
class Listener:
    port: int
    received: list[bytes] = field(default_factory=list)


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    """A loopback HTTP server that records everything it receives (it must stay empty)."""
    received: list[bytes] = []

    async def anything(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield Listener(server.port or 0, received)
    finally:
        await server.close()


NOT_LOOPBACK = [
    # refused before any connection is tried: never a packet to these
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:70/_x",
    "ftp://example.com/",
    "dict://127.0.0.1:11211/",
    "http://user:pass@example.com/",
    "//example.com/hook",
    "hook",
    "",  # present but empty: refused, not read as "no webhook"
]


async def _submit_batch(client: TestClient[Any, Any], url: str) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/v1/batches",
        data=payload(VICTIM, 2023) + b"\n",
        headers={
            "Authorization": f"Bearer {KEY_XIAOKANG}",
            "Content-Type": "application/x-ndjson",
            "X-Pilu-Webhook-Url": url,
            "X-Pilu-Webhook-Secret": WEBHOOK_SECRET,
        },
    )
    return response.status, await response.json()


@pytest.fixture
async def app_client(request: pytest.FixtureRequest) -> AsyncIterator[TestClient[Any, Any]]:
    overrides = getattr(request, "param", {})
    async with serving(build_app(make_settings(**overrides), backend=FAKE_BACKEND)) as client:
        yield client


async def test_webhooks_to_internal_addresses_are_refused_and_nothing_arrives(
    app_client: TestClient[Any, Any], listener: Listener
) -> None:
    for url in [*loopback_urls(listener.port), *NOT_LOOPBACK]:
        status, body = await _submit_batch(app_client, url)
        assert status == 422, (url, body)
        error = body["error"]
        assert error["code"] == "webhook_invalid", url
        assert WEBHOOK_SECRET not in json.dumps(body, ensure_ascii=False)
    listed = await (
        await app_client.get("/v1/batches", headers={"Authorization": f"Bearer {KEY_ALL}"})
    ).json()
    assert listed["items"] == [], "a refused webhook left a batch behind"
    await asyncio.sleep(0.3)
    assert listener.received == []


async def test_dns_rebinding_between_submit_and_delivery_reaches_nothing(
    app_client: TestClient[Any, Any], listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook's name is public when the batch is submitted and loopback by the time the
    batch finishes: the runner connects to nothing, and the batch records a failed delivery."""
    answers: list[str] = []

    async def rebinding(host: str, port: int | None, family: int = 0) -> list[Any]:
        answers.append(host)
        return [ipaddress.ip_address("8.8.8.8" if len(answers) == 1 else "127.0.0.1")]

    monkeypatch.setattr(webhook, "lookup", rebinding)
    status, body = await _submit_batch(app_client, f"http://hooks.rebind.test:{listener.port}/h")
    assert status == 202, body
    deadline = time.monotonic() + 20
    while True:
        batch = await (
            await app_client.get(
                f"/v1/batches/{body['id']}", headers={"Authorization": f"Bearer {KEY_XIAOKANG}"}
            )
        ).json()
        if batch["state"] == "finished" and len(answers) >= 2:
            break
        assert time.monotonic() < deadline, batch
        await asyncio.sleep(0.1)
    await asyncio.sleep(2.0)  # the three tries of the first round (0.5 s, 1 s apart)
    assert listener.received == []
    assert batch["webhook"] != "delivered"


@pytest.mark.parametrize("app_client", [{"webhook_allow_private": True}], indirect=True)
async def test_the_operator_setting_lets_a_loopback_webhook_through(
    app_client: TestClient[Any, Any], listener: Listener
) -> None:
    """The control for the two tests above: allowed, the same listener gets the event."""
    status, body = await _submit_batch(app_client, f"http://127.0.0.1:{listener.port}/hook")
    assert status == 202, body
    deadline = time.monotonic() + 20
    while not listener.received:
        assert time.monotonic() < deadline, "the allowed webhook never arrived"
        await asyncio.sleep(0.1)
    assert json.loads(listener.received[0])["batch"]["id"] == body["id"]
    for url in ("file:///etc/passwd", "http://u:p@127.0.0.1/", "gopher://127.0.0.1/"):
        status, _ = await _submit_batch(app_client, url)
        assert status == 422, url


# --- batch limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_client", [{"max_batch_items": 5, "max_batch_bytes": 64 * 1024}], indirect=True
)
async def test_batch_limits_are_named_in_the_refusal(app_client: TestClient[Any, Any]) -> None:
    keys = {"Authorization": f"Bearer {KEY_XIAOKANG}"}
    line = payload(VICTIM, 2023)
    cases = [
        ("application/x-ndjson", b"\n".join([line] * 6), 422, "batch_invalid", "max_items", 5),
        (
            "application/json",
            b"[" + b",".join([line] * 6) + b"]",
            422,
            "batch_invalid",
            "max_items",
            5,
        ),
        (
            "application/x-ndjson",
            b"\n".join([line] * 5) + b" " * 70_000,
            413,
            "payload_too_large",
            "max_bytes",
            64 * 1024,
        ),
    ]
    for media, data, status, code, name, limit in cases:
        response = await app_client.post(
            "/v1/batches", data=data, headers={**keys, "Content-Type": media}
        )
        body = await response.json()
        assert response.status == status, body
        assert body["error"]["code"] == code
        assert body["error"]["details"][name] == limit
        assert str(limit) in body["error"]["message"] or name == "max_bytes"
    chunked = await app_client.post(
        "/v1/batches",
        data=_chunks([line + b"\n"] * 2000),
        headers={**keys, "Content-Type": "application/x-ndjson"},
    )
    assert chunked.status == 413, await chunked.text()
    listed = await (await app_client.get("/v1/batches", headers=keys)).json()
    assert listed["items"] == [], "a refused batch was recorded"
    ok = await app_client.post(
        "/v1/batches",
        data=b"\n".join([line] * 5),
        headers={**keys, "Content-Type": "application/x-ndjson"},
    )
    assert ok.status == 202, await ok.text()


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked): the limit must hold while reading."""
    for part in parts:
        yield part


async def test_the_default_item_limit_is_ten_thousand(app_client: TestClient[Any, Any]) -> None:
    line = b'{"company": {"id": "xiaokang-life"}}'
    response = await app_client.post(
        "/v1/batches",
        data=b"\n".join([line] * 10_001),
        headers={"Authorization": f"Bearer {KEY_XIAOKANG}", "Content-Type": "application/x-ndjson"},
    )
    body = await response.json()
    assert response.status == 422 and body["error"]["details"] == {"max_items": 10_000}


async def test_batch_items_with_unusable_company_ids_are_refused(
    app_client: TestClient[Any, Any],
) -> None:
    """A NUL or a lone surrogate in ``company.id`` made PostgreSQL fail the insert (500)."""
    lines = [
        b'{"company": {"id": "xiaokang-life\\u0000"}}',
        b'{"company": {"id": "\\ud800"}}',
        b'{"company": {"id": "' + b"x" * 300 + b'"}}',
    ]
    response = await app_client.post(
        "/v1/batches",
        data=b"\n".join(lines),
        headers={"Authorization": f"Bearer {KEY_ALL}", "Content-Type": "application/x-ndjson"},
    )
    body = await response.json()
    assert response.status == 422, body
    assert [d["index"] for d in body["error"]["details"]] == [0, 1, 2]


@pytest.mark.asyncio(loop_scope="module")
async def test_console_upload_limits(world: World) -> None:
    """The console's upload takes the same item limit (and names it)."""
    from aiohttp import FormData

    form = FormData()
    form.add_field("csrf", world.csrf)
    form.add_field("file", b"\n".join([attempt(INTRUDER)] * 10_001), filename="b.ndjson")
    response = await world.client.post("/console/batches", data=form)
    text = await response.text()
    assert response.status == 422 and "10000" in text


async def test_odd_ids_and_filters_with_postgresql() -> None:
    """PostgreSQL refuses a NUL in text (SQLite does not): these were 500s there."""
    from tests.store.backends import create_database, drop_database, ensure_postgres

    await asyncio.to_thread(ensure_postgres)
    url = await create_database()
    app = build_app(make_settings(database_url=url), backend=FAKE_BACKEND)
    keys = {"Authorization": f"Bearer {KEY_ALL}"}
    try:
        async with serving(app) as client:
            paths = [
                t.replace("{id}", odd) for t in API_ID_ROUTES for odd in ("a%00b", "%ED%A0%80")
            ]
            paths += [
                "/v1/documents?company=a%00",
                "/v1/documents?kind=%00",
                "/v1/batches?cursor=%00",
            ]
            for path in paths:
                response = await client.session.get(raw_url(client, path), headers=keys)
                assert 400 <= response.status < 500, (path, response.status, await response.text())
            response = await client.post(
                "/v1/batches",
                data=b'{"company": {"id": "xiaokang-life\\u0000"}}',
                headers={**keys, "Content-Type": "application/x-ndjson"},
            )
            assert response.status == 422, await response.text()
    finally:
        await drop_database(url)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/documents/{doc}/pdf?version=1&version=2",
        "/v1/documents/{doc}/docx?version=&version=1",
        "/v1/documents?limit=1&limit=2",
        "/v1/documents?company=a&company=b",
        "/v1/documents?cursor=a&cursor=b",
        "/v1/batches/{batch}?state=done&state=failed",
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_a_query_parameter_given_twice_is_refused(world: World, path: str) -> None:
    """Which of two values would count is a guess: 400 ``invalid_parameter``, never a file."""
    url = path.format(doc=world.doc, batch=world.batch)
    response = await world.client.get(url, headers={"Authorization": f"Bearer {KEY_ALL}"})
    assert response.status == 400, (url, response.status)
    error = (await response.json())["error"]
    assert error["code"] == "invalid_parameter"
    assert error["details"]["count"] == 2


@pytest.mark.parametrize("query", ["version=", "version=%20", "limit=", "year="])
@pytest.mark.asyncio(loop_scope="module")
async def test_an_empty_integer_parameter_is_refused(world: World, query: str) -> None:
    """An integer parameter present but empty is no integer: 400, not the default."""
    path = f"/v1/documents/{world.doc}" if query.startswith("version") else "/v1/documents"
    response = await world.client.get(
        f"{path}?{query}", headers={"Authorization": f"Bearer {KEY_ALL}"}
    )
    assert response.status == 400, (query, response.status)
    assert (await response.json())["error"]["code"] == "invalid_parameter"
