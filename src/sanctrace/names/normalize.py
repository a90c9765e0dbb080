"""Names to comparable tokens: script-aware, legal forms typed, honorifics dropped.

A name becomes a ``NormalizedName``: its tokens, each with Latin comparison forms (every
plausible transliteration) and phonetic skeletons, plus the legal forms found in it. Token
order is not kept as meaning: alignment in the scorer is order-free.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from sanctrace.model import detect_script
from sanctrace.names.kana import korean_surname_forms, korean_syllable_forms, korean_syllables
from sanctrace.names.legal_forms import (
    LegalForm,
    find_legal_forms,
    is_japanese_form,
    strip_honorifics,
)
from sanctrace.names.translit import han_syllables, skeleton, split_tokens, token_forms

# Tokens that name a relation rather than the person: optional when unmatched.
PARTICLES = frozenset(
    "bin ben ibn bint binti al el ul ud abu de da do dos das del della la le van von der den di du".split()
)
PATRONYMIC_ENDINGS = ("ovich", "evich", "ovna", "evna", "ichna", "yevich", "ievich", "vich", "vna")
JAPANESE_SCRIPTS = frozenset({"Han", "Hiragana", "Katakana", "Japanese"})


@dataclass(frozen=True, slots=True)
class NameToken:
    """One token: as written, its Latin forms (best first) and their skeletons."""

    raw: str
    forms: tuple[str, ...]
    skeletons: tuple[str, ...]
    strict: tuple[str, ...]  # skeletons with l and r kept apart
    script: str
    optional: bool = False  # patronymic or particle: counts little when unmatched
    patronymic: bool = False
    is_initial: bool = False

    @property
    def latin(self) -> str:
        return self.forms[0] if self.forms else self.raw


@dataclass(frozen=True, slots=True)
class NormalizedName:
    """A name ready to index and compare."""

    original: str
    tokens: tuple[NameToken, ...]
    legal_forms: tuple[LegalForm, ...] = ()
    script: str = "Latin"
    via: str = "name"  # name | reading | translation | syllables | split name
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def latin(self) -> str:
        return " ".join(t.latin for t in self.tokens)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=200_000)
def make_token(raw: str) -> NameToken | None:
    """A token with its forms; None when nothing comparable remains."""
    return _token(raw, tuple(f for f in token_forms(raw) if f))


def _token(raw: str, forms: tuple[str, ...]) -> NameToken | None:
    """A token with the given Latin forms (best first) and the skeletons they make."""
    if not forms:
        return None
    skels = tuple(dict.fromkeys(s for s in (skeleton(f) for f in forms) if s))
    strict = tuple(dict.fromkeys(s for s in (skeleton(f, False) for f in forms) if s))
    latin = forms[0]
    patronymic = len(latin) > 5 and latin.endswith(PATRONYMIC_ENDINGS)
    return NameToken(
        raw,
        forms,
        skels or (latin,),
        strict,
        detect_script(raw),
        optional=patronymic or latin in PARTICLES,
        patronymic=patronymic,
        is_initial=len(latin) == 1,
    )


def normalize(
    text: str, via: str = "name", schema: str | None = None, native_han: bool | None = None
) -> NormalizedName:
    """Tokens, legal forms and script of one name, in any script.

    A person's name has no legal form ("IP Man" keeps its "IP"); anything else may.
    ``native_han`` keeps kanji tokens as written, without their Chinese reading (see
    ``variants``); None: only when a Japanese legal form (株式会社, 合同会社) is found.
    """
    folded = strip_honorifics(_fold(text))
    rest, forms = (folded, []) if schema == "Person" else find_legal_forms(folded)
    if native_han is None:
        native_han = any(is_japanese_form(f) for f in forms)
    raws = split_tokens(rest)
    made = [t for raw in raws for t in _native(raw)] if native_han else map(make_token, raws)
    tokens = tuple(t for t in made if t is not None)
    return NormalizedName(text, tokens, tuple(forms), detect_script(text), via)


def _load_places() -> dict[str, tuple[str, ...]]:
    path = Path(__file__).with_name("data") / "ja_place_readings.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {unicodedata.normalize("NFKC", k): tuple(v) for k, v in raw["places"].items()}


_PLACES = _load_places()
_PLACE_LENGTHS = sorted({len(k) for k in _PLACES}, reverse=True)


def _native(raw: str) -> list[NameToken | None]:
    """Tokens of a kanji word in its Japanese reading: a place name it holds read as Japanese
    reads it (東京 as tokyo), other kanji kept as written, for they read as Chinese only
    (東京 as "dongjing" would meet Chinese names it has nothing to do with)."""
    if detect_script(raw) != "Han":
        return [make_token(raw)]
    text = unicodedata.normalize("NFKC", raw).casefold()
    out: list[NameToken | None] = []
    rest = ""
    i = 0
    while i < len(text):
        place = next((text[i : i + n] for n in _PLACE_LENGTHS if text[i : i + n] in _PLACES), "")
        if not place:
            rest += text[i]
            i += 1
            continue
        if rest:
            out.append(NameToken(rest, (rest,), (rest,), (), "Han"))
            rest = ""
        out.append(_token(place, _PLACES[place]))
        i += len(place)
    if rest:
        out.append(NameToken(rest, (rest,), (rest,), (), "Han"))
    return out


# Characters that separate name parts though nothing or only a gap shows (zero-width space,
# NUL, tab, soft hyphen, bidi marks, "_", no-break and ideographic spaces, Hangul fillers,
# braille blank …): in a name they are noise or an attempt to slip it past a screen.
_ODD_SPACES = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_SEPARATOR_CATEGORIES = frozenset({"Cc", "Cf", "Pc", "Zs", "Zl", "Zp"})


def _is_separator(ch: str) -> bool:
    """An invisible, control, format, connector or odd space character (not the plain space)."""
    if ch == " ":
        return False
    return ch in _ODD_SPACES or unicodedata.category(ch) in _SEPARATOR_CATEGORIES


def _separated(text: str) -> list[tuple[str, str]]:
    """``text`` without its invisible separators and, when it has any, with them as spaces.

    Both are kept because the character may sit inside a word ("Pu", ZWSP, "tin") or between
    two ("Vladimir", ZWSP, "Putin"); the screen takes the better of the two.
    """
    if text.isascii() and text.isprintable() and "_" not in text:
        return [(text, "name")]
    if not any(_is_separator(ch) for ch in text):
        return [(text, "name")]
    joined = "".join(ch for ch in text if not _is_separator(ch))
    spaced = "".join(" " if _is_separator(ch) else ch for ch in text)
    return [(joined, "name"), (spaced, "split name")]


_BRACKETED = re.compile(r"[（(]([^（）()]*)[）)]")
_ALIAS_SPLIT = re.compile(r"[、,;，]|及び|and\b")
_ALIAS_MARKERS = ("別称", "通称", "旧称", "a.k.a.", "aka", "f.k.a.")


def _pieces(text: str) -> list[str]:
    """A name and the names in its brackets: 'A（別称、B及びC）' → A, B, C; 'FSB (Federal…)'."""
    inner = _BRACKETED.findall(text)
    # Only asides that name aliases are split off; "ICBC (Asia)" keeps its qualifier.
    if not inner or not any(i.strip().startswith(_ALIAS_MARKERS) for i in inner):
        return [text]
    out = [_BRACKETED.sub(" ", text).strip()]
    for part in inner:
        for marker in _ALIAS_MARKERS:
            part = part.strip(" 、,:：").removeprefix(marker)
        out.extend(p.strip(" 、,:：") for p in _ALIAS_SPLIT.split(part))
    return [p for p in out if p]


def _syllable_split(name: NormalizedName) -> NormalizedName | None:
    """金正恩 as jin zheng en / 김정은 as gim jeong eun: a CJK person name, one token per syllable."""
    tokens: list[NameToken] = []
    changed = False
    for token in name.tokens:
        if token.script in ("Han", "Hangul") and 2 <= len(token.raw) <= 4:
            parts = [make_token(syl) for syl in han_syllables(token.raw)]
            if len(parts) > 1 and all(parts):
                tokens.extend(p for p in parts if p is not None)
                changed = True
                continue
        tokens.append(token)
    if not changed:
        return None
    return NormalizedName(name.original, tuple(tokens), name.legal_forms, name.script, "syllables")


def _korean_split(name: NormalizedName) -> NormalizedName | None:
    """キム・ジョンウン as kim jong un: a katakana name whose surname is Korean, its given
    name cut into Korean syllables, each read the ways Korean is romanised."""
    if name.script != "Katakana" or not 2 <= len(name.tokens) <= 3:
        return None
    surnames = [i for i, t in enumerate(name.tokens) if korean_surname_forms(t.raw)]
    if not surnames or surnames[0] not in (0, len(name.tokens) - 1):
        return None
    tokens: list[NameToken] = []
    split = False
    for i, token in enumerate(name.tokens):
        if i == surnames[0]:
            new = _token(token.raw, tuple(korean_surname_forms(token.raw)))
            tokens.extend([new] if new else [])
            continue
        sylls = korean_syllables(token.raw)
        if not sylls or len(sylls) > 3:
            return None
        parts = [_token(syl, tuple(korean_syllable_forms(syl))) for syl in sylls]
        if not all(parts):
            return None
        tokens.extend(p for p in parts if p is not None)
        split = split or len(sylls) > 1
    if not split:
        return None
    return NormalizedName(name.original, tuple(tokens), name.legal_forms, name.script, "syllables")


def variants(
    text: str, schema: str | None = None, reading: str | None = None
) -> list[NormalizedName]:
    """Every comparable form of a name: the name and the names in its brackets, CJK person
    names split into syllables, Japanese organisation names with their words translated,
    Korean names in katakana cut into syllables, and a name with invisible characters
    between its parts also split there.

    The Japanese reading leads where there is one: when a kana ``reading`` is given (the
    caller screens it as a name of its own) or the name has a Japanese legal form, kanji
    are not read in Chinese (山田 is not "shantian", 東京 not "dongjing"), so kanji only meet
    kanji, and Japanese organisation names their English translation.
    """
    out: list[NormalizedName] = []
    for cleaned, via in _separated(text):
        out.extend(_variants(cleaned, schema, bool(reading and reading.strip()), via))
    seen: set[tuple[str, ...]] = set()
    unique = []
    for name in out:
        # The kanji form keeps the tokens of the name itself, for another purpose.
        key = ("kanji" if name.via == "kanji" else "", *(t.raw for t in name.tokens))
        if name.tokens and key not in seen:
            seen.add(key)
            unique.append(name)
    return unique


def _variants(text: str, schema: str | None, has_reading: bool, via: str) -> list[NormalizedName]:
    out: list[NormalizedName] = []
    for piece in _pieces(text):
        name = normalize(piece, via=via, schema=schema, native_han=has_reading or None)
        out.append(name)
        japanese = has_reading or any(is_japanese_form(f) for f in name.legal_forms)
        if japanese and _has_kanji(piece):
            out.append(_kanji_only(piece, name, via, schema))
        if schema in (None, "Person"):
            korean = _korean_split(name)
            split = _syllable_split(name) if not japanese else None
            out.extend(v for v in (split, korean) if v is not None)
        script = detect_script(piece)
        if script in JAPANESE_SCRIPTS and schema != "Person" and _has_kanji(piece):
            from sanctrace.names.glossary import translate_ja

            for rendering in translate_ja(find_legal_forms(_fold(piece))[0])[:1]:
                translated = normalize(rendering, via="translation", native_han=japanese or None)
                if translated.tokens:
                    out.append(
                        NormalizedName(
                            piece,
                            translated.tokens,
                            name.legal_forms,
                            translated.script,
                            "translation",
                        )
                    )
    return out


def _has_kanji(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK") for ch in text)


def comparable_pair(query: NormalizedName, candidate: NormalizedName) -> bool:
    """False for a syllable-split form against a name in the same CJK script: two such names
    are compared by their characters, since their readings collide (高市/高石). False for a
    name's kanji form (see ``_kanji_only``) against a name written without kanji."""
    if "kanji" in (query.via, candidate.via):
        other = candidate if query.via == "kanji" else query
        return other.script in KANJI_SCRIPTS
    if "syllables" not in (query.via, candidate.via):
        return True
    return query.script != candidate.script


KANJI_SCRIPTS = frozenset({"Han", "Japanese"})


def _kanji_only(text: str, name: NormalizedName, via: str, schema: str | None) -> NormalizedName:
    """The kanji of a name whose Japanese reading leads, to meet list names written in kanji.

    Its kanji tokens carry their Chinese reading too, which is only how the candidate index
    finds kanji names (it keys tokens by their Latin forms); ``comparable_pair`` keeps this
    form away from names without kanji, and kanji meet kanji by their characters.
    """
    plain = normalize(text, via="kanji", schema=schema, native_han=False)
    tokens = tuple(
        replace(t, forms=(t.raw, *t.forms)) if t.script == "Han" else t for t in plain.tokens
    )
    return NormalizedName(name.original, tokens, name.legal_forms, name.script, "kanji")
