"""Module-level functions the fault tests hand to worker processes (importable by name).

``SLOW_BACKEND`` serves the real payload checks but renders by sleeping ``"sleep_s"`` seconds
(read from the payload), so a test can hold workers busy for a known time.
:class:`PrivatePostgres` is a PostgreSQL cluster of one test's own, to restart at will.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from service import pipeline
from service.api.backend import Backend


def render(raw: bytes, fmt: str, pdf_variant: str | None = None) -> tuple[bytes, str]:
    data = json.loads(raw)
    time.sleep(float(data.get("sleep_s", 0)))
    return f"{fmt}|{data.get('tag', '')}|{os.getpid()}".encode(), f"slow.{fmt}"


def preview(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    time.sleep(float(data.get("sleep_s", 0)))
    return {"tag": data.get("tag", "")}


def payload_schema() -> dict[str, Any]:
    return pipeline.payload_json_schema()


def sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def slow_warm_up() -> None:
    time.sleep(1.0)


SLOW_BACKEND = Backend(
    render=render,
    preview=preview,
    company_id=pipeline.company_id,
    payload_schema=payload_schema,
    warm_up=None,
    formats=("pdf", "docx", "zip"),
)


# --- a private PostgreSQL instance -------------------------------------------------------------


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (``initdb`` into a temporary folder, a free port on
    127.0.0.1, trust authentication), so a test may stop, kill and restart it without touching
    the machine's shared cluster. Runs as the ``postgres`` system user when started by root
    (PostgreSQL refuses root). Use as a context manager: the cluster is stopped (immediately)
    and its folder removed on the way out, whatever happened.

    What it cannot do: run where the Debian binaries (``/usr/lib/postgresql/*/bin``) are
    missing; it fails then rather than skip.
    """

    port: int = field(default_factory=lambda: _free_port())
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pilu-pg-")))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> Self:
        try:
            self.root.chmod(0o700)
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")  # fmt: skip
            conf = self.data / "postgresql.conf"
            with conf.open("a") as handle:
                handle.write(
                    f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.root}'\nmax_connections = 50\n"
                )
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-t", "30", "-l", str(self.log))

    def stop(self, mode: str = "fast") -> None:
        """Stop (``immediate``: as a crash); :meth:`start` brings it back on the same port."""
        self._pg_ctl("stop", "-w", "-t", "30", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        """Stop (``fast``: disconnect everyone, checkpoint; ``immediate``: as a crash, recovery
        at the next start) and start again on the same port; returns once it accepts
        connections."""
        self._pg_ctl("restart", "-w", "-t", "30", "-m", mode, "-l", str(self.log))

    def create_database(self, name: str, *options: str) -> str:
        """A new database (``options`` for ``createdb``, e.g. ``--tablespace=…``); its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  *options, name)  # fmt: skip
        return self.url(name)

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one SQL statement with ``psql`` as the superuser."""
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "-d", database, "-v", "ON_ERROR_STOP=1", "-c", statement)  # fmt: skip

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        self._run("pg_ctl", "-D", str(self.data), *args, check=check)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(_pg_bin() / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr[-2000:]}")


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
