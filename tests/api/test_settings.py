"""Settings: sources, parsing of keys, and the rule that every setting is documented."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.settings import ENV_PREFIX, Settings, documented_settings, parse_api_keys

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [env for env, _, _ in documented_settings() if f"`{env}`" not in doc]
    assert not missing, (
        f"add these to docs/configuration.md (python -m service.settings): {missing}"
    )


def test_every_setting_has_help_text() -> None:
    assert all(help_text for _, _, help_text in documented_settings())


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    s = Settings.load()
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.workers == (os.cpu_count() or 1)
    assert s.max_body_bytes == 2 * 1024 * 1024
    assert s.api_keys == ()
    assert s.data_dir == Path("var")
    assert s.worker_start_method in {"spawn", "forkserver"}


def test_environment_file_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "pilu.env"
    settings_file.write_text("PILU_PORT=9001\nPILU_WORKERS=3\nPILU_LOG_LEVEL=debug\n")
    monkeypatch.setenv("PILU_SETTINGS_FILE", str(settings_file))
    monkeypatch.setenv("PILU_WORKERS", "5")
    s = Settings.load()
    assert s.port == 9001  # from the file
    assert s.workers == 5  # the environment wins over the file
    assert s.log_level == "DEBUG"
    assert Settings.load(port=7000, host=None).port == 7000  # arguments win; None means unset


def test_missing_settings_file_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PILU_SETTINGS_FILE", "/nonexistent/pilu.env")
    with pytest.raises(FileNotFoundError):
        Settings.load()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("k1:a", {"k1": {"a"}}),
        ("k1:a,b; k2:*", {"k1": {"a", "b"}, "k2": {"*"}}),
        ('{"k1": ["a", "b"], "k2": "*"}', {"k1": {"a", "b"}, "k2": {"*"}}),
    ],
)
def test_api_key_forms(text: str, expected: dict[str, set[str]]) -> None:
    keys = parse_api_keys(text)
    assert {k.secret.get_secret_value(): set(k.companies) for k in keys} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k1:a", {"k1": None}),
        ("k1:a,b:ops team; k2:*", {"k1": "ops team", "k2": None}),
        ('{"k1": {"companies": ["a"], "name": "etl"}, "k2": "*"}', {"k1": "etl", "k2": None}),
    ],
)
def test_api_keys_may_have_names(text: str, expected: dict[str, str | None]) -> None:
    keys = parse_api_keys(text)
    assert {k.secret.get_secret_value(): k.given_name for k in keys} == expected
    for key in keys:
        assert key.name == (key.given_name or f"key-{key.fingerprint}")
        assert key.secret.get_secret_value() not in key.name


@pytest.mark.parametrize(
    "text",
    ["nocolon", "k1:", ":a", "k1:a;k1:b", '{"k": []}', "k1:a:same;k2:b:same", "k1:a:x\ty"],
)
def test_bad_api_keys_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        Settings(api_keys=text)


def test_keys_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PILU_API_KEYS", "very-secret-key:*")
    s = Settings.load()
    assert "very-secret-key" not in repr(s) and "very-secret-key" not in str(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [("port", 0), ("workers", -1), ("render_timeout_s", 0), ("worker_start_method", "fork")],
)
def test_out_of_range_values_are_refused(name: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        Settings(**{name: value})


def test_a_bad_key_setting_does_not_echo_the_keys() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(api_keys="topsecret-key-without-companies")
    assert "topsecret" not in str(caught.value)
