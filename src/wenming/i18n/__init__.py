"""Translations: gettext catalogues (``<lang>/LC_MESSAGES/messages.po``) read once at start-up.

Source strings are English; Chinese is the default language. The ``.po`` files are the only
committed form: they are compiled in memory when first needed, so no ``.mo`` file is kept.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

CATALOG_DIR = Path(__file__).resolve().parent
DOMAIN = "messages"
LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
# The value of ``<html lang>`` for each language.
HTML_LANG: dict[str, str] = {"zh": "zh-CN", "en": "en"}
# Each language's name in itself, for the language switch.
LANGUAGE_NAMES: dict[str, str] = {"zh": "中文", "en": "English"}


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction; it is translated where it is shown (a page shows a
    domain error's detail in the reader's language when the catalogue knows it)."""
    return message


def catalog_path(language: str) -> Path:
    """Where the catalogue of a language lives."""
    return CATALOG_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    """The parsed catalogue of a language."""
    with catalog_path(language).open("rb") as po_file:
        return read_po(po_file, locale=language, domain=DOMAIN)


def translations_from_catalog(catalog: Catalog) -> Translations:
    """A gettext-style Translations object compiled in memory from a catalogue."""
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> Translations:
    """The translations of a supported language, loaded once per process."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; use one of: {', '.join(LANGUAGES)}")
    return translations_from_catalog(read_catalog(language))


def load_all() -> dict[str, Translations]:
    """Every supported language's translations (called at start-up so a broken file fails early)."""
    return {language: translations(language) for language in LANGUAGES}


def supported(language: str | None, fallback: str = DEFAULT_LANGUAGE) -> str:
    """A supported language code: the given one if known, else the fallback (else zh)."""
    if language in LANGUAGES:
        return str(language)
    return fallback if fallback in LANGUAGES else DEFAULT_LANGUAGE


def gettext(language: str, message: str) -> str:
    """One message translated into a language."""
    return str(translations(language).gettext(message))
