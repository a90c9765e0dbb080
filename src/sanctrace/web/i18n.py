"""Japanese and English for the console: English is the source text, Japanese comes from the
Babel (gettext ``.po``) catalogs under ``web/locale/ja/`` — one catalog per page group, all
merged. The language is the ``sanctrace_lang`` cookie (set by the switch), else the browser's
``Accept-Language``, else English."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

__all__ = ["LANGUAGES", "LANG_COOKIE", "catalog", "choose", "translator"]

LANGUAGES = ("en", "ja")
LANG_COOKIE = "sanctrace_lang"
LOCALE = Path(__file__).resolve().parent / "locale"


@cache
def catalog(lang: str) -> dict[str, str]:
    """msgid → translation for ``lang`` (empty for English, the source language)."""
    found: dict[str, str] = {}
    folder = LOCALE / lang
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with open(path, "rb") as fh:
            for message in read_po(fh, locale=lang):
                if message.id and message.string and isinstance(message.id, str):
                    found[message.id] = str(message.string)
    return found


def translator(lang: str):  # noqa: ANN201 - a gettext callable
    """``gettext`` for ``lang``: the translation, or the English source when there is none."""
    table = catalog(lang) if lang != "en" else {}

    def gettext(text: str, **values: object) -> str:
        found = table.get(text, text)
        return found % values if values else found

    return gettext


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The page language: the switch's cookie, else the first supported browser language."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"
