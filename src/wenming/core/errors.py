"""Typed domain errors and their single translation into RFC 9457 problem details."""

from __future__ import annotations

from typing import Any, ClassVar


class WenmingError(Exception):
    """Base of every error the domain raises on purpose; each kind carries its HTTP status."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 body of this error."""
        body: dict[str, Any] = {
            "type": f"/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


class InvalidInput(WenmingError):
    """Input that is well-formed but breaks a rule about a field; names the field."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(self, detail: str, *, field: str | None = None, **extensions: Any) -> None:
        if field is not None:
            extensions.setdefault("errors", [{"field": field, "message": detail}])
        super().__init__(detail, **extensions)
        self.field = field


class NotAuthenticated(WenmingError):
    """No valid credentials were presented."""

    status = 401
    slug = "not-authenticated"
    title = "Authentication required"


class Forbidden(WenmingError):
    """The actor is known but may not do this (role or territorial scope)."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class OutOfScope(Forbidden):
    """The object lies outside the actor's territory or department."""

    slug = "out-of-scope"
    title = "Outside your scope"


class NotFound(WenmingError):
    """No such object, or one whose existence must not leak to this actor."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(WenmingError):
    """The request conflicts with a rule or with the current state."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class TooManyAttempts(WenmingError):
    """Too many failed attempts; the caller must wait ``retry_after`` seconds."""

    status = 429
    slug = "too-many-attempts"
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extensions)
        self.retry_after = retry_after
