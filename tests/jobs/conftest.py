from tests.store.backends import (  # noqa: F401
    backend,
    data_dir,
    database_url,
    fresh_database_url,
    pg_url,
    postgres_server,
    shared_pg_url,
    store,
)
