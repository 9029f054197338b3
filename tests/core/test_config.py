"""Configuration: `WENMING_` variables, an optional `.env`, and production's refusal of weak
secrets with a message that says what to set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from wenming.core.config import (
    DEFAULT_SECRET_KEY,
    ConfigurationError,
    Environment,
    Settings,
    configuration_problem,
    get_settings,
)
from wenming.main import create_app

HOW_TO_GENERATE = "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
DEFAULT_OR_EMPTY = (
    "WENMING_SECRET_KEY is empty or still the built-in default; production refuses to start "
    "with it. Set WENMING_SECRET_KEY to a random value of at least 32 characters, e.g. the "
    "output of " + HOW_TO_GENERATE
)
GOOD_SECRET = "k" * 48


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No WENMING_ variable and no .env from the surroundings; a fresh cached settings."""
    for name in list(os.environ):
        if name.startswith("WENMING_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "", "   ", f"  {DEFAULT_SECRET_KEY}  "])
def test_production_refuses_a_default_or_empty_secret(secret: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(env=Environment.PRODUCTION, secret_key=secret)
    assert str(refused.value) == DEFAULT_OR_EMPTY


@pytest.mark.parametrize("length", [1, 16, 31])
def test_production_refuses_a_short_secret(length: int) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(env=Environment.PRODUCTION, secret_key="s" * length)
    assert str(refused.value) == (
        f"WENMING_SECRET_KEY has {length} characters; production needs at least 32. "
        "Generate one with " + HOW_TO_GENERATE
    )


@pytest.mark.parametrize("secret", ["s" * 32, GOOD_SECRET])
def test_production_accepts_a_long_secret(secret: str) -> None:
    settings = Settings(env=Environment.PRODUCTION, secret_key=secret)
    assert (settings.env, settings.secret_key) == (Environment.PRODUCTION, secret)
    assert configuration_problem(settings) is None


@pytest.mark.parametrize("env", [Environment.DEVELOPMENT, Environment.TEST])
def test_other_environments_allow_the_default(env: Environment) -> None:
    assert Settings(env=env).secret_key == DEFAULT_SECRET_KEY


def test_environment_variables_with_the_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WENMING_ENV", "production")
    monkeypatch.setenv("WENMING_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("WENMING_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("WENMING_LOGIN_LOCK_MINUTES", "30")
    monkeypatch.setenv("SECRET_KEY", "unprefixed-is-ignored")
    settings = Settings()
    assert settings.env is Environment.PRODUCTION
    assert settings.secret_key == GOOD_SECRET
    assert settings.login_lock_minutes == 30
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'store' / 'wenming.sqlite3'}"


def test_production_from_the_environment_refuses_to_build_an_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WENMING_ENV", "production")
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    assert str(refused.value) == DEFAULT_OR_EMPTY
    monkeypatch.setenv("WENMING_SECRET_KEY", "too-short")
    with pytest.raises(ConfigurationError) as short:
        create_app()
    assert str(short.value).startswith("WENMING_SECRET_KEY has 9 characters")


def test_a_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "wenming.env"
    env_file.write_text(
        "WENMING_ENV=production\n"
        f"WENMING_SECRET_KEY={GOOD_SECRET}\n"
        "WENMING_DATABASE_URL=postgresql://wenming@db.example/wenming\n"
        "WENMING_BEARER_TOKEN_HOURS=2\n"
        "SESSION_HOURS=99\n",
        encoding="utf-8",
    )
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.env is Environment.PRODUCTION
    assert settings.secret_key == GOOD_SECRET
    assert settings.resolved_database_url == "postgresql://wenming@db.example/wenming"
    assert (settings.bearer_token_hours, settings.session_hours) == (2, 12)

    monkeypatch.setenv("WENMING_BEARER_TOKEN_HOURS", "5")
    assert Settings(_env_file=env_file).bearer_token_hours == 5  # type: ignore[call-arg]


def test_a_dotenv_with_a_weak_secret_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WENMING_ENV=production\nWENMING_SECRET_KEY=\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert str(refused.value) == DEFAULT_OR_EMPTY


def test_the_dotenv_of_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WENMING_SESSION_HOURS=3\n", encoding="utf-8")
    assert Settings().session_hours == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("login_free_failures", 0),
        ("login_lock_failures", 1),
        ("login_lock_minutes", 0),
        ("bearer_token_hours", 0),
        ("session_hours", -1),
        ("db_pool_size", 0),
    ],
)
def test_nonsensical_numbers_are_refused_by_name(name: str, value: int) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{name: value})
    assert [error["loc"] for error in refused.value.errors()] == [(name,)]


def test_defaults() -> None:
    settings = Settings()
    assert settings.env is Environment.DEVELOPMENT
    assert (
        settings.login_free_failures,
        settings.login_lock_failures,
        settings.login_lock_minutes,
    ) == (3, 10, 15)
    assert settings.sqlite_path == Path("wenming-data") / "wenming.sqlite3"


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ("9-5", "'9-5' is not a period HH:MM-HH:MM"),
        (
            "13:30-17:30,08:30-12:00",
            "period 08:30-12:00 starts before the previous period ends; "
            "list periods in order without overlap",
        ),
    ],
)
def test_malformed_working_hours_are_refused_in_every_environment(hours: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(env=Environment.DEVELOPMENT, work_hours=hours)
    assert str(refused.value) == f"WENMING_WORK_HOURS={hours!r}: {problem}"
