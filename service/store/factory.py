"""Open a store: the database, its migrations, and the artifact store that goes with it.

Backends register by database dialect (``register_backend``), the built-in two like any other:

========== =========================================== ==========================================
dialect    index, batches, items                        outputs and payloads
========== =========================================== ==========================================
sqlite     ``<data_dir>/pilu.sqlite3`` (WAL)            files under ``<data_dir>/artifacts``
postgresql the database named by the URL                the ``artifacts`` table (``bytea``)
========== =========================================== ==========================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy.engine import make_url

from service.store.artifacts import ArtifactStore, DatabaseArtifacts, FileArtifacts
from service.store.batches import BatchStore
from service.store.db import Database, create_engine, normalise_url
from service.store.documents import DocumentStore
from service.store.migrations import migrate

ArtifactFactory = Callable[[Database, Path], ArtifactStore]
"""Makes the artifact store for a database; ``Path`` is the data dir."""

_BACKENDS: dict[str, ArtifactFactory] = {}


def register_backend(dialect: str, artifacts: ArtifactFactory) -> None:
    """Use ``artifacts`` for databases of ``dialect`` (SQLAlchemy's dialect name)."""
    _BACKENDS[dialect] = artifacts


register_backend("sqlite", lambda db, data_dir: FileArtifacts(data_dir / "artifacts"))
register_backend("postgresql", lambda db, data_dir: DatabaseArtifacts(db))


@dataclass(eq=False)
class Store:
    """Everything persistent, for one process. Cheap to share between tasks; open one per
    process (engines and their connection pools do not survive ``fork``)."""

    db: Database
    artifacts: ArtifactStore
    documents: DocumentStore
    batches: BatchStore
    url: str
    """The database URL with the password masked, for logs and ``/v1/health``."""

    @property
    def backend(self) -> str:
        return self.db.dialect

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def open_store(
    database_url: str | None, data_dir: Path, *, run_migrations: bool = True
) -> Store:
    """The store for ``database_url`` (``None`` or ``""``: embedded SQLite in ``data_dir``).

    Applies pending migrations unless ``run_migrations`` is false. ``data_dir`` is created for
    SQLite and left alone for PostgreSQL. Close the store with :meth:`Store.close`.
    """
    if not database_url:
        data_dir.mkdir(parents=True, exist_ok=True)
    url = normalise_url(database_url, data_dir)
    db = Database(create_engine(url))
    try:
        factory = _BACKENDS.get(db.dialect)
        if factory is None:
            raise ValueError(f"no store backend registered for {db.dialect!r}")
        if run_migrations:
            await migrate(db)
        artifacts = factory(db, data_dir)
    except BaseException:
        await db.close()
        raise
    return Store(
        db=db,
        artifacts=artifacts,
        documents=DocumentStore(db, artifacts),
        batches=BatchStore(db),
        url=make_url(url).render_as_string(hide_password=True),
    )
