"""Server-rendered pages: templates, own static assets, translations and browser security."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from wenming import i18n


def install(app: FastAPI) -> None:
    """Mount static files and page routes on the app."""
    from wenming.web import account, auth, cases, home, hotline, inbox, org
    from wenming.web import evaluation as evaluation_pages
    from wenming.web import map as map_page
    from wenming.web.errors import install_error_pages
    from wenming.web.headers import SecurityHeaders
    from wenming.web.rendering import STATIC_DIR, STATIC_PREFIX, environment

    for language in i18n.load_all():
        environment(language)
    install_error_pages(app)
    app.add_middleware(SecurityHeaders)
    map_page.install(app)  # before /static, which would otherwise answer for Leaflet's files
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, home, org, account, inbox, cases, hotline, evaluation_pages):
        app.include_router(module.router)
