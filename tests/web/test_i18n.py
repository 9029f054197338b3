"""One translation mechanism: complete catalogues, matching placeholders, the language switch."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from tests.web.support import HTML
from wenming import i18n
from wenming.web.rendering import safe_next

REPO_ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted_messages() -> set[str]:
    """Every msgid that `pybabel extract -F babel.cfg` finds in the sources."""
    with (REPO_ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(REPO_ROOT), method_map, options_map
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_message_has_a_non_empty_translation(language: str) -> None:
    catalog = i18n.read_catalog(language)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 100
    untranslated = [m.id for m in messages if not m.string or not str(m.string).strip()]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_catalogues_hold_exactly_the_extracted_messages() -> None:
    extracted = extracted_messages()
    for language in i18n.LANGUAGES:
        ids = {str(m.id) for m in i18n.read_catalog(language) if m.id}
        assert sorted(extracted - ids) == [], f"missing from {language}"
        assert sorted(ids - extracted) == [], f"stale in {language}"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_translations_keep_the_placeholders(language: str) -> None:
    for message in i18n.read_catalog(language):
        if message.id:
            assert sorted(PLACEHOLDER.findall(str(message.string))) == sorted(
                PLACEHOLDER.findall(str(message.id))
            ), message.id


def test_english_catalogue_is_the_source_text() -> None:
    for message in i18n.read_catalog("en"):
        if message.id:
            assert message.string == message.id


def test_translations_are_compiled_in_memory() -> None:
    assert i18n.gettext("zh", "Sign out") == "退出登录"
    assert i18n.gettext("en", "Sign out") == "Sign out"
    assert not list((REPO_ROOT / "src" / "wenming" / "i18n").rglob("*.mo"))


def test_unknown_language_falls_back() -> None:
    assert i18n.supported("fr") == "zh"
    assert i18n.supported(None, "en") == "en"
    assert i18n.supported("de", "xx") == "zh"
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        i18n.translations("fr")


async def test_language_cookie_switches_the_page_language(client: httpx.AsyncClient) -> None:
    response = await client.get("/lang/en?next=/login", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("wm_lang=en;")
    assert "SameSite=lax" in cookie
    page = await client.get("/login", headers=HTML)
    assert '<html lang="en">' in page.text
    assert '<h1 id="login-heading">Sign in to Wenming</h1>' in page.text
    assert '<a href="/lang/zh?next=/login" hreflang="zh" lang="zh-CN">中文</a>' in page.text
    back = await client.get("/lang/zh?next=/login", headers=HTML)
    assert back.status_code == 303
    page = await client.get("/login", headers=HTML)
    assert '<html lang="zh-CN">' in page.text


async def test_language_switch_stays_on_site(client: httpx.AsyncClient) -> None:
    for target in ("https://evil.example", "//evil.example", "/\\evil", "http:/x", ""):
        response = await client.get("/lang/en", params={"next": target}, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/", target


async def test_unknown_language_is_a_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/lang/fr?next=/", headers=HTML)
    assert response.status_code == 404
    assert "wm_lang" not in response.cookies


async def test_invalid_language_cookie_uses_the_default(client: httpx.AsyncClient) -> None:
    client.cookies.set("wm_lang", "fr")
    page = await client.get("/login", headers=HTML)
    assert '<html lang="zh-CN">' in page.text


def test_safe_next_accepts_only_paths_of_this_site() -> None:
    assert safe_next("/org/people?page=2") == "/org/people?page=2"
    assert safe_next("/") == "/"
    for bad in (
        None,
        "",
        "org",
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "/\x00",
    ):
        assert safe_next(bad) == "/"
