"""Runtime configuration: `WENMING_` environment variables and an optional `.env` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-insecure-change-me"  # noqa: S105 - the placeholder production refuses
MIN_SECRET_KEY_LENGTH = 32


class Environment(StrEnum):
    """Where the process runs; production turns on the strict start-up checks."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says which variable to change."""


class Settings(BaseSettings):
    """All settings of one Wenming process."""

    model_config = SettingsConfigDict(
        env_prefix="WENMING_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    secret_key: str = DEFAULT_SECRET_KEY
    data_dir: Path = Path("./wenming-data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; empty means SQLite in data_dir. PostgreSQL: postgresql://...",
    )
    db_pool_size: int = Field(default=10, ge=1)
    db_echo: bool = False
    default_language: str = "zh"
    timezone: str = "Asia/Shanghai"
    session_hours: int = Field(default=12, ge=1)
    bearer_token_hours: int = Field(default=8, ge=1)
    cookie_secure: bool = False
    login_free_failures: int = Field(
        default=3, ge=1, description="failed sign-ins of a username before it must wait"
    )
    login_lock_failures: int = Field(
        default=10, ge=2, description="failed sign-ins after which the username is locked"
    )
    login_lock_minutes: int = Field(default=15, ge=1)
    geo_lookup_max_staleness_ms: int = Field(
        default=1000,
        ge=0,
        description="how old the in-memory grids and unit names may be when the public locate "
        "endpoint answers from memory; 0 re-reads the version stamp for every request",
    )
    intake_max_staleness_ms: int = Field(
        default=1000,
        ge=0,
        description="how old the in-memory rulebook (categories, limits, calendar, routing rules) "
        "and unit tree may be when a report is prepared from memory; 0 re-reads them for every "
        "report",
    )
    attachment_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="largest uploaded image accepted, in bytes (10 MiB by default)",
    )
    attachment_max_pixels: int = Field(
        default=40_000_000,
        ge=1,
        description="most pixels (width × height) an uploaded image may have; larger images "
        "are refused before they are decoded (decompression bombs)",
    )
    work_hours: str = Field(
        default="08:30-12:00,13:30-17:30",
        description="working periods of a working day, local time; working-hour and working-day "
        "time limits count only these",
    )
    reopen_window_days: int = Field(
        default=7, ge=0, le=365, description="days after closing in which a reporter may reopen"
    )
    duplicate_window_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="how far back open cases are searched for likely duplicates of a new report",
    )
    sweep_interval_seconds: float = Field(
        default=60.0, gt=0, description="how often `wenming serve` runs the overdue sweep"
    )
    map_tiles: str | None = Field(
        default=None,
        description="XYZ/WMTS tile URL template for maps (e.g. 天地图 with its key, or an intranet "
        "tile server); empty draws boundaries and markers on a plain background",
    )
    map_tiles_crs: Literal["wgs84", "gcj02"] = Field(
        default="wgs84", description="coordinate system of the tile source (GCJ-02 for Amap-style)"
    )
    notify_webhook_url: str | None = Field(
        default=None,
        description="HTTP(S) URL that receives each notification as a signed JSON POST (an SMS or "
        "WeChat gateway); empty keeps notifications in the in-app inbox only",
    )
    notify_webhook_secret: str = Field(
        default="",
        description="shared secret of the X-Wenming-Signature HMAC; required in production when "
        "a webhook URL is set",
    )
    notify_webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    notify_webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="sends of one notification before it is marked dead"
    )
    notify_delivery_interval_seconds: float = Field(
        default=15.0, gt=0, description="how often `wenming serve` delivers due notifications"
    )
    periodic_tasks_enabled: bool | None = Field(
        default=None,
        description="run the background jobs (notification delivery, ...) inside the app "
        "process; empty means on, except with WENMING_ENV=test",
    )

    freeze_startup_objects: bool | None = Field(
        default=None,
        description="once the app has started, move every object it holds so far out of the "
        "garbage collector's reach (gc.freeze), so full collections stay short under load; "
        "empty means on, except with WENMING_ENV=test",
    )

    @field_validator("notify_webhook_url", mode="before")
    @classmethod
    def _webhook_url_is_http(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not value.lower().startswith(("http://", "https://")):
                raise ValueError("give an http:// or https:// URL, or leave it empty")
        return value

    @model_validator(mode="after")
    def _production_needs_real_secret(self) -> Settings:
        require_usable(self)
        return self

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded database lives when no database URL is configured."""
        return self.data_dir / "wenming.sqlite3"

    @property
    def periodic_tasks_active(self) -> bool:
        """Whether the app runs its background jobs: as configured, else everywhere but tests."""
        return self._outside_tests_unless_set(self.periodic_tasks_enabled)

    @property
    def freezes_startup_objects(self) -> bool:
        """Whether the app freezes its start-up objects: as configured, else everywhere but
        tests (which start many apps in one process, and would keep each one's garbage)."""
        return self._outside_tests_unless_set(self.freeze_startup_objects)

    def _outside_tests_unless_set(self, configured: bool | None) -> bool:
        """A switch as configured, or, left empty, on everywhere but with WENMING_ENV=test."""
        return configured if configured is not None else self.env is not Environment.TEST

    @property
    def resolved_database_url(self) -> str:
        """The database URL in canonical form (no driver suffix)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path.resolve()}"


def configuration_problem(settings: Settings) -> str | None:
    """Why these settings must not run, or None; only production is strict about secrets."""
    from wenming.cases.calendar import parse_work_hours
    from wenming.core.errors import InvalidInput

    try:
        parse_work_hours(settings.work_hours)
    except InvalidInput as error:
        return f"WENMING_WORK_HOURS={settings.work_hours!r}: {error.detail}"
    if settings.env is not Environment.PRODUCTION:
        return None
    key = settings.secret_key.strip()
    if not key or key == DEFAULT_SECRET_KEY:
        return (
            "WENMING_SECRET_KEY is empty or still the built-in default; production refuses "
            "to start with it. Set WENMING_SECRET_KEY to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return (
            f"WENMING_SECRET_KEY has {len(key)} characters; production needs at least "
            f"{MIN_SECRET_KEY_LENGTH}. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
    if settings.notify_webhook_url and not settings.notify_webhook_secret.strip():
        return (
            "WENMING_NOTIFY_WEBHOOK_URL is set but WENMING_NOTIFY_WEBHOOK_SECRET is empty; "
            "production signs every webhook call. Set WENMING_NOTIFY_WEBHOOK_SECRET to the "
            "secret the gateway checks (e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or clear the URL."
        )
    return None


def require_usable(settings: Settings) -> None:
    """Raise ConfigurationError when the settings must not run.

    Settings check themselves when built; whoever holds settings built without validation
    (``Settings.model_construct``) checks them with this before use.
    """
    if problem := configuration_problem(settings):
        raise ConfigurationError(problem)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
