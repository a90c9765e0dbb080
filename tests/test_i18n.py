"""The console in Japanese is complete: every message a template marks for translation has a
Japanese translation in the catalogs (``web/locale/ja/*.po``), with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from sanctrace.web.i18n import LOCALE, catalog, choose, translator

TEMPLATES = Path(__file__).resolve().parent.parent / "src" / "sanctrace" / "web" / "templates"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w+)\}")


def template_messages() -> dict[str, list[str]]:
    """msgid → the templates (and lines) that use it, from Babel's Jinja extractor."""
    found: dict[str, list[str]] = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        with open(path, "rb") as fh:
            for lineno, _func, message, _comments in babel_extract(fh, KEYWORDS, [], OPTIONS):
                ids = message if isinstance(message, tuple) else (message,)
                for msgid in ids:
                    if isinstance(msgid, str) and msgid.strip():  # _(variable) gives None
                        found.setdefault(msgid, []).append(f"{path.name}:{lineno}")
    return found


def test_the_extractor_finds_the_base_messages():
    found = template_messages()
    assert {"Sign in", "User name", "Password", "Dashboard", "Alert queue"} <= set(found)


def test_every_template_message_has_a_japanese_translation():
    ja = catalog("ja")
    missing = {m: where for m, where in template_messages().items() if not ja.get(m)}
    listed = "\n".join(f"  {m!r} ({', '.join(w[:2])})" for m, w in sorted(missing.items()))
    assert not missing, f"{len(missing)} messages without Japanese in web/locale/ja/*.po:\n{listed}"


def test_translations_keep_their_placeholders():
    wrong = []
    for msgid, text in catalog("ja").items():
        want = {a or b for a, b in PLACEHOLDER.findall(msgid)}
        got = {a or b for a, b in PLACEHOLDER.findall(text)}
        if want != got:
            wrong.append(f"{msgid!r}: {sorted(want)} → {text!r}: {sorted(got)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", sorted((LOCALE / "ja").glob("*.po")), ids=lambda p: p.name)
def test_catalog_reads_cleanly_without_fuzzy_entries(path):
    with open(path, "rb") as fh:
        parsed = read_po(fh, locale="ja", abort_invalid=True)
    fuzzy = [m.id for m in parsed if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy (unchecked) translations in {path.name}: {fuzzy}"


def test_the_catalogs_do_not_disagree():
    """One msgid translated in two catalogs must be translated the same way."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted((LOCALE / "ja").glob("*.po")):
        with open(path, "rb") as fh:
            for message in read_po(fh, locale="ja"):
                if not (message.id and message.string and isinstance(message.id, str)):
                    continue
                before = seen.setdefault(message.id, (str(message.string), path.name))
                if before[0] != message.string:
                    clashes.append(f"{message.id!r}: {before} vs {message.string!r} ({path.name})")
    assert not clashes, "\n".join(clashes)


def test_language_choice_and_fallback():
    assert choose("ja", "en-US") == "ja"
    assert choose(None, "ja-JP,ja;q=0.9,en;q=0.8") == "ja"
    assert choose(None, "fr-FR") == "en"
    assert translator("ja")("Sign in") != "Sign in"
    assert translator("en")("Sign in") == "Sign in"
    assert translator("ja")("a message nobody translated") == "a message nobody translated"
