"""Names to comparable tokens: script-aware, legal forms typed, honorifics dropped.

A name becomes a ``NormalizedName``: its tokens, each with Latin comparison forms (every
plausible transliteration) and phonetic skeletons, plus the legal forms found in it. Token
order is not kept as meaning: alignment in the scorer is order-free.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sanctrace.model import detect_script
from sanctrace.names.legal_forms import LegalForm, find_legal_forms, strip_honorifics
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
    via: str = "name"  # name | reading | translation | syllables
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def latin(self) -> str:
        return " ".join(t.latin for t in self.tokens)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=200_000)
def make_token(raw: str) -> NameToken | None:
    """A token with its forms; None when nothing comparable remains."""
    forms = tuple(f for f in token_forms(raw) if f)
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


def normalize(text: str, via: str = "name", schema: str | None = None) -> NormalizedName:
    """Tokens, legal forms and script of one name, in any script.

    A person's name has no legal form ("IP Man" keeps its "IP"); anything else may.
    """
    folded = strip_honorifics(_fold(text))
    rest, forms = (folded, []) if schema == "Person" else find_legal_forms(folded)
    tokens = tuple(t for t in (make_token(raw) for raw in split_tokens(rest)) if t is not None)
    return NormalizedName(text, tokens, tuple(forms), detect_script(text), via)


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


def variants(text: str, schema: str | None = None) -> list[NormalizedName]:
    """Every comparable form of a name: the name and the names in its brackets, CJK person
    names split into syllables, Japanese organisation names with their words translated."""
    out: list[NormalizedName] = []
    for piece in _pieces(text):
        name = normalize(piece, schema=schema)
        out.append(name)
        if schema in (None, "Person"):
            split = _syllable_split(name)
            if split is not None:
                out.append(split)
        script = detect_script(piece)
        if script in JAPANESE_SCRIPTS and schema != "Person" and _has_kanji(piece):
            from sanctrace.names.glossary import translate_ja

            for rendering in translate_ja(find_legal_forms(_fold(piece))[0])[:1]:
                translated = normalize(rendering, via="translation")
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
    seen: set[tuple[str, ...]] = set()
    unique = []
    for name in out:
        key = tuple(t.raw for t in name.tokens)
        if name.tokens and key not in seen:
            seen.add(key)
            unique.append(name)
    return unique


def _has_kanji(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK") for ch in text)


def comparable_pair(query: NormalizedName, candidate: NormalizedName) -> bool:
    """False for a syllable-split form against a name in the same CJK script: two such names
    are compared by their characters, since their readings collide (高市/高石)."""
    if "syllables" not in (query.via, candidate.via):
        return True
    return query.script != candidate.script
