"""One settings object for the service, read from the environment in one place.

Every setting is an environment variable ``PILU_<NAME>`` (``PILU_RENDER_TIMEOUT_S``). When
``PILU_SETTINGS_FILE`` names a file, it is read first as ``KEY=value`` lines (dotenv format);
real environment variables win over it, and keyword arguments to :meth:`Settings.load` win over
both. ``docs/configuration.md`` lists every setting; a test fails when one is missing there, and
:func:`settings_markdown` prints the table to paste.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "PILU_"
SETTINGS_FILE_VAR = "PILU_SETTINGS_FILE"


class ApiKey(BaseModel):
    """One API key, its name, and the company ids it may render for; ``"*"`` in ``companies``
    means all. The name is what manifests and the console show as having made a version (the
    key itself never is); a key configured without one is named ``key-<fingerprint>``."""

    model_config = ConfigDict(frozen=True)

    secret: SecretStr
    companies: frozenset[str]
    given_name: str | None = None

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible tag for telling keys apart in config dumps (never the key)."""
        return hashlib.sha256(self.secret.get_secret_value().encode()).hexdigest()[:8]

    @property
    def name(self) -> str:
        return self.given_name or f"key-{self.fingerprint}"


def parse_api_keys(value: Any) -> tuple[ApiKey, ...]:
    """Read ``api_keys`` from JSON or from the compact form
    ``key:company1,company2:name;key2:*`` (the ``:name`` is optional).

    JSON may be an object ``{"key": ["company1"], "key2": "*"}`` or, with names,
    ``{"key": {"companies": ["company1"], "name": "ops"}}``. Empty text means no keys.
    Raises ``ValueError`` on a key without companies, an empty key, a repeated key or name, or a
    name that is not 1–64 printable characters.
    """
    if isinstance(value, tuple) and all(isinstance(v, ApiKey) for v in value):
        return value
    pairs: list[tuple[str, list[str], str | None]] = []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        if text.startswith("{"):
            items = json.loads(text).items()
        else:
            items = []
            for entry in filter(None, (e.strip() for e in text.split(";"))):
                key, sep, rest = entry.partition(":")
                listed, _, label = rest.partition(":")
                if not sep:
                    raise ValueError("each API key entry must be key:company1,company2 or key:*")
                items.append((key, {"companies": listed.split(","), "name": label or None}))
    else:
        # ValueError, not TypeError: pydantic reports only ValueError as a validation error
        raise ValueError("api_keys must be JSON or key:company1,company2;key2:*")  # noqa: TRY004
    for key, entry in items:
        companies: Any = entry.get("companies", []) if isinstance(entry, dict) else entry
        given: Any = entry.get("name") if isinstance(entry, dict) else None
        ids = [companies] if isinstance(companies, str) else list(companies)
        cleaned = [c.strip() for c in ids if c.strip()]
        if not key.strip() or not cleaned:
            raise ValueError("API key entries need a non-empty key and at least one company id")
        name = given.strip() if isinstance(given, str) and given.strip() else None
        if name is not None and not (len(name) <= 64 and name.isprintable()):
            raise ValueError("an API key name must be 1-64 printable characters")
        pairs.append((key.strip(), cleaned, name))
    if len({k for k, _, _ in pairs}) != len(pairs):
        raise ValueError("an API key is listed twice")
    keys = tuple(
        ApiKey(secret=SecretStr(k), companies=frozenset(c), given_name=n) for k, c, n in pairs
    )
    if len({k.name for k in keys}) != len(keys):
        raise ValueError("two API keys have the same name")
    return keys


class Settings(BaseSettings):
    """The service's settings. Units are in the names: ``_s`` seconds, ``_bytes`` bytes."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        env_file_encoding="utf-8",
        hide_input_in_errors=True,  # a malformed PILU_API_KEYS must not print the keys
    )

    host: str = Field("127.0.0.1", description="Address `pilu serve` binds to.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port `pilu serve` listens on.")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description=(
            "Render worker processes (default: the CPU count). 0 renders inside the server "
            "process, blocking it, with no time limit: for tests and debugging only."
        ),
    )
    worker_start_method: Literal["spawn", "forkserver"] = Field(
        "forkserver",
        description=(
            "How worker processes start. `forkserver`: forked from one helper process that has "
            "imported the service and loaded its fonts' data once, so a worker starts warm "
            "(~1.9 CPU-s less each); `spawn`: each a fresh interpreter that loads everything "
            "itself. Never plain `fork`: WeasyPrint and its libraries are not safe to use "
            "after a fork of a process that used them, and the helper never uses them."
        ),
    )
    worker_start_timeout_s: float = Field(
        60.0, gt=0, description="Longest a worker may take to start and warm up (fonts, templates)."
    )
    max_tasks_per_child: int = Field(
        200, ge=1, description="Renders a worker does before it is replaced (bounds leaks)."
    )
    render_timeout_s: float = Field(
        60.0,
        gt=0,
        description=(
            "Longest one render may run; past it the worker is killed and replaced and the "
            "caller gets 504 (a `pilu batch` item fails). Time spent waiting in the queue does "
            "not count."
        ),
    )
    queue_limit: int = Field(
        16,
        ge=0,
        description=(
            "Requests that may wait for a busy worker; past it the service answers 503 with "
            "Retry-After. With `max_body_bytes` it bounds memory held by waiting requests."
        ),
    )
    retry_after_s: int = Field(
        2, ge=0, description="Seconds sent in `Retry-After` when the queue is full."
    )
    max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1, description="Largest request body accepted; larger gets 413."
    )
    max_docx_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1,
        description=(
            "Largest edited DOCX accepted by `POST /v1/documents/{id}/versions` and the "
            "console's upload; larger gets 413. Pilu's own DOCX files are about 2 MiB with the "
            "house style's `editable` font embedding and 20 MiB with `full`."
        ),
    )
    max_docx_unpacked_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1,
        description=(
            "Bytes of XML an uploaded DOCX may inflate to; more is refused as a ZIP bomb (400). "
            "Pilu's own XML parts inflate to about 110 KiB."
        ),
    )
    body_timeout_s: float = Field(
        30.0,
        gt=0,
        description=(
            "Longest a request body may take to arrive whole; past it the caller gets 408 and "
            "the connection is closed. Bodies are read before a render takes a worker or a "
            "queue place, so a slow sender holds only its own connection."
        ),
    )
    uploads_per_key: int = Field(
        4,
        ge=1,
        description=(
            "Request bodies one API key may be sending at once; the next gets 429 with "
            "Retry-After before anything is read. With `max_body_bytes` it bounds the memory "
            "held by bodies still arriving, per key."
        ),
    )
    api_keys: Annotated[tuple[ApiKey, ...], NoDecode] = Field(
        (),
        description=(
            "API keys, the company ids each may use, and optionally a name: "
            "`key1:company1,company2:name1;key2:*` or JSON "
            '`{"key1": {"companies": ["company1"], "name": "name1"}, "key2": "*"}`. `*` allows '
            "every company. The name (else `key-` and 8 hex digits of the key's SHA-256) is "
            "recorded with each document version the key makes; the key itself never is."
        ),
    )
    local_dev_key: bool = Field(
        True,
        description=(
            "When `api_keys` is empty and `host` is a loopback address, `pilu serve` creates a "
            "key allowed every company in `<data_dir>/dev-api-key` (mode 0600, kept across "
            "restarts) and prints a curl line that reads it. With this off, or on any other "
            "host, an empty `api_keys` stops the server from starting."
        ),
    )
    shutdown_grace_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM or SIGINT, how long in-flight requests may run before they are cut.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe log level written (JSON lines on stderr)."
    )
    data_dir: Path = Field(
        Path("var"),
        description=(
            "Directory for state the service keeps: the local dev key and, without "
            "`database_url`, the document archive (`pilu.sqlite3` and `artifacts/`)."
        ),
    )
    database_url: SecretStr | None = Field(
        None,
        description=(
            "Where documents, batches and outputs are kept. Unset: embedded SQLite and files "
            "under `data_dir` (one machine). `postgresql://user:pass@host:5432/db`: everything "
            "in that PostgreSQL database, shared by every node that names it (migrations run "
            "at start). See docs/storage.md."
        ),
    )
    batch_lease_s: float = Field(
        30.0,
        gt=0,
        description=(
            "How long a node rendering batch items may stay silent. On PostgreSQL its job "
            "engine worker beats every third of it, and the jobs of a worker silent this long "
            "(its node died) are put back for any node. Unused on SQLite (the local queue has no leases)."
        ),
    )
    batch_concurrency: int | None = Field(
        None,
        ge=1,
        description=(
            "Batch items this node renders at once (unset: `workers`, at least 1). Batch "
            "renders use every worker while no API request came for 5 s, and leave one to "
            "requests otherwise (with a single worker they share it), so a sync render during a "
            "batch waits at most for the rest of one render."
        ),
    )
    max_batch_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1,
        description=(
            "Largest `POST /v1/batches` body; larger gets 413. Each payload in it must also fit "
            "`max_body_bytes`."
        ),
    )
    max_batch_items: int = Field(
        10_000,
        ge=1,
        le=10_000,
        description=(
            "Most payloads one batch may hold (`POST /v1/batches` and console uploads); more "
            "gets 422 `batch_invalid` naming the limit. At most 10,000."
        ),
    )
    webhook_timeout_s: float = Field(
        10.0, gt=0, description="Longest one webhook POST may take (three tries per round)."
    )
    webhook_allow_private: bool = Field(
        False,
        description=(
            "Allow batch webhooks to loopback, private, link-local and other non-public "
            "addresses. Off: such a `X-Pilu-Webhook-Url` is refused at submit (422), and a "
            "host whose address turns non-public by delivery time is not called."
        ),
    )

    signing_pkcs12: Path | None = Field(
        None,
        description=(
            "The company certificate and key as a PKCS#12 file (`.p12`/`.pfx`). Set: every PDF "
            "is signed PAdES B-B (invisible unless `signing_visible`) after rendering, the "
            "archive keeps the signed bytes and the manifest records the certificate's SHA-256. "
            "A file that cannot be read or opened, or a certificate expired or not yet valid, "
            "stops the service at start. See docs/pdf-archival.md."
        ),
    )
    signing_password: SecretStr | None = Field(
        None, description="Password of `signing_pkcs12` (unset: a file without a password)."
    )
    signing_visible: bool = Field(
        False,
        description=(
            "Draw the signature at the 署名 of the last page: a red frame over the signature "
            "block with the signer and signing time in the line above it. Off: the signature "
            "is invisible (a viewer's signature panel shows it)."
        ),
    )

    @field_validator("signing_pkcs12", "signing_password", "database_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: Any) -> tuple[ApiKey, ...]:
        return parse_api_keys(value)

    @property
    def database_url_value(self) -> str | None:
        """The database URL as text (``None``: embedded SQLite in ``data_dir``)."""
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def runner_concurrency(self) -> int:
        """Batch items rendered at once on this node: ``batch_concurrency`` or ``workers``."""
        return self.batch_concurrency or max(1, self.workers)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def load(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read the settings: ``overrides`` > environment > ``PILU_SETTINGS_FILE`` > defaults.

        ``environ`` defaults to ``os.environ`` and is only consulted for ``PILU_SETTINGS_FILE``;
        pydantic-settings itself reads ``os.environ``.
        """
        env = os.environ if environ is None else environ
        settings_file = env.get(SETTINGS_FILE_VAR)
        if settings_file and not Path(settings_file).is_file():
            raise FileNotFoundError(f"{SETTINGS_FILE_VAR} names a missing file: {settings_file}")
        values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        values["_env_file"] = settings_file or None
        return cls(**values)


def documented_settings() -> list[tuple[str, str, str]]:
    """``(environment variable, default as text, help)`` for every setting, in declared order."""
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "CPU count" if name == "workers" else "(computed)"
        elif isinstance(field.default, tuple) and not field.default:
            default = "(empty)"
        elif field.default is None:
            default = "(unset)"
        else:
            default = str(field.default)
        rows.append((ENV_PREFIX + name.upper(), default, field.description or ""))
    return rows


def settings_markdown() -> str:
    """The settings table of ``docs/configuration.md``."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for env, default, help_text in documented_settings():
        lines.append(f"| `{env}` | `{default}` | {help_text} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_markdown())
