"""Wire shapes of the authentication API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from wenming.org.schemas import RoleOut


class TokenOut(BaseModel):
    """The OAuth2 password-flow answer."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class MeOut(BaseModel):
    """The signed-in user and their roles."""

    id: int
    username: str
    display_name: str
    roles: list[RoleOut]


class ApiKeyCreate(BaseModel):
    """A name saying which client will use the key."""

    name: str = Field(min_length=1, max_length=100)


class ApiKeyCreated(BaseModel):
    """A new key: the plain value is shown here once and never again."""

    id: int
    name: str
    key: str
    prefix: str
    created_at: datetime


class ApiKeyOut(BaseModel):
    """An existing key, without its secret."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
