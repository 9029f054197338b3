"""Form posts from pages: parsed once, and refused unless they carry the page's CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from wenming.auth import csrf
from wenming.auth.csrf import CsrfFailed

CSRF_FAILED_DETAIL = (
    "The form's security token is missing or expired. Go back, reload the page and try again."
)


async def csrf_form(request: Request) -> FormData:
    """The posted form, after checking its ``csrf_token`` against the browser's CSRF cookie.

    Every page route that accepts a POST depends on this (a test walks the routes to make sure).
    """
    form = await request.form()
    submitted = form.get(csrf.CSRF_FIELD)
    if not isinstance(submitted, str) or not csrf.check(request, submitted):
        raise CsrfFailed(CSRF_FAILED_DETAIL)
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]


def field(form: FormData, name: str) -> str:
    """A text field of a form, stripped; missing fields and file uploads count as empty."""
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return ""
    return value.strip()


def raw_field(form: FormData, name: str) -> str:
    """A text field exactly as typed (passwords keep their surrounding blanks)."""
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return ""
    return value
