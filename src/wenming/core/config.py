"""Runtime configuration: `WENMING_` environment variables and an optional `.env` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
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
    db_pool_size: int = 10
    db_echo: bool = False
    default_language: str = "zh"
    timezone: str = "Asia/Shanghai"
    session_hours: int = 12
    bearer_token_hours: int = 8
    cookie_secure: bool = False
    login_free_failures: int = 3
    login_lock_failures: int = 10
    login_lock_minutes: int = 15

    @model_validator(mode="after")
    def _production_needs_real_secret(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            key = self.secret_key.strip()
            if not key or key == DEFAULT_SECRET_KEY:
                raise ConfigurationError(
                    "WENMING_SECRET_KEY is empty or still the built-in default; production refuses "
                    "to start with it. Set WENMING_SECRET_KEY to a random value of at least "
                    f"{MIN_SECRET_KEY_LENGTH} characters, e.g. the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
            if len(key) < MIN_SECRET_KEY_LENGTH:
                raise ConfigurationError(
                    f"WENMING_SECRET_KEY has {len(key)} characters; production needs at least "
                    f"{MIN_SECRET_KEY_LENGTH}. Generate one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
        return self

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded database lives when no database URL is configured."""
        return self.data_dir / "wenming.sqlite3"

    @property
    def resolved_database_url(self) -> str:
        """The database URL in canonical form (no driver suffix)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path.resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
