"""A read-only install: the glyph cache is built at install time and only read at run time.

The install tree (code, templates, fonts and the built glyph cache) is copied to a temporary
folder and made unwritable two ways: mounted read-only (EROFS, as a read-only container layer)
and made read-only for a process that has dropped every capability (EACCES, what the image's
unprivileged user meets against root-owned files; the interpreter here lives under a folder only
root may enter, so the process stays uid 0 without its privileges). ``pilu render`` and
``pilu serve`` must work in both; only the output and data folders are writable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import PROJECT_ROOT
from tests.conftest import EXAMPLES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount and drop capabilities"),
    pytest.mark.skipif(
        not shutil.which("setpriv") or not shutil.which("unshare"), reason="util-linux"
    ),
]

REFERENCE = EXAMPLES / "xiaokang-life-2023.json"


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the install tree with its glyph cache, unwritable for everyone."""
    root = tmp_path_factory.mktemp("install")
    for name in ("service", "templates", "fonts"):
        shutil.copytree(
            PROJECT_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    assert list((root / "fonts" / "build" / "docx").glob("*.glyphs")), "glyph cache built"
    subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
    yield root
    subprocess.run(["chmod", "-R", "u+w", str(root)], check=True)


def _read_only_mount(install: Path, command: str) -> list[str]:
    return [
        "unshare", "-m", "--propagation", "private", "sh", "-ec",
        f'mount --bind "{install}" "{install}"; mount -o remount,ro,bind "{install}"; {command}',
    ]  # fmt: skip


def _without_privileges(install: Path, command: str) -> list[str]:
    return [
        "setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all",
        "--no-new-privs", "sh", "-ec", command,
    ]  # fmt: skip


WAYS = {"read-only mount": _read_only_mount, "no privileges": _without_privileges}


def _env(install: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(install),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/nonexistent",
        "LANG": "C.UTF-8",
    }


def _pilu(*args: str) -> str:
    return " ".join([sys.executable, "-m", "service.cli", *args])


@pytest.mark.parametrize("way", list(WAYS))
def test_pilu_render_works_on_a_read_only_install(install: Path, tmp_path: Path, way: str) -> None:
    probe = subprocess.run(
        WAYS[way](install, f'touch "{install}/fonts/build/docx/probe"'),
        capture_output=True, text=True, env=_env(install), check=False,
    )  # fmt: skip
    assert probe.returncode != 0, "the install tree is not writable"
    out = tmp_path / "out"
    out.mkdir()
    command = f'cd "{install}" && {_pilu("render", str(REFERENCE), "--out", str(out))}'
    done = subprocess.run(
        WAYS[way](install, command), capture_output=True, text=True, env=_env(install),
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.suffix for p in out.iterdir()) == [".docx", ".pdf"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "var"
    path.mkdir()
    yield path


@pytest.mark.parametrize("way", list(WAYS))
def test_pilu_serve_renders_on_a_read_only_install(install: Path, data_dir: Path, way: str) -> None:
    port = _free_port()
    env = _env(install) | {"PILU_DATA_DIR": str(data_dir), "PILU_WORKERS": "1"}
    command = f'cd "{install}" && exec {_pilu("serve", "--host", "127.0.0.1", "--port", str(port))}'
    server = subprocess.Popen(
        WAYS[way](install, command), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        key_file = data_dir / "dev-api-key"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read().decode()[-3000:]  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200 and key_file.exists():
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server not ready"
            time.sleep(0.5)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/render?format=docx",
            data=REFERENCE.read_bytes(),
            headers={"X-API-Key": key_file.read_text().strip(), "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert response.status == 200
            assert response.read()[:2] == b"PK"
    finally:
        server.terminate()
        server.wait(timeout=30)
