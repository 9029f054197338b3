"""Server-rendered pages."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount static files and page routes on the app."""
