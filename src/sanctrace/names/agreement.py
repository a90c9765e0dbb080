"""How two aligned name tokens agree, in words the scorer can weigh and explain.

The token matrix says how alike two tokens are (a number); this module says *how* they agree:

- ``exact``: some transliteration of one is spelled like some transliteration of the other;
- ``close``: within a typo (spelling similarity 0.75 or more; one edit up to eight letters, two up to twelve;
  tokens of four letters or fewer, acronyms above all, need exact agreement; for romanised Chinese and Korean syllables
  no edit below eight letters) and the first letter the same (or the first two swapped);
- ``rough``: within a typo, but the first letters differ (Cates and Gates): counted, not strong;
- ``nickname``: a short form or nickname of the same given name (``data/nicknames.yml``);
- ``script``: they sound alike and one of them is written in a script that leaves vowels out
  or approximates them (Arabic, Hebrew, kana): there, sound is the spelling;
- ``native``: two tokens in the same CJK script, compared by their characters;
- ``initial``: one is an initial;
- ``approximate``: anything weaker, above all a shared phonetic skeleton alone;
- ``differs``: two different names that look alike: a feminine ending against a masculine one,
  or romanised Chinese or Korean syllables that neither spell nor sound alike (ming, ping).
  The scorer does not align such a pair.

Only the strong kinds (exact, close, nickname, script, native) can carry a match by
themselves; the scorer counts approximate pairs at a fraction (``scorer.WEIGHTS``).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz.distance import OSA

from sanctrace.names.normalize import PARTICLES, NameToken

__all__ = [
    "FULL_CREDIT",
    "abbreviates",
    "STRONG",
    "acronym_of",
    "agreement",
    "allowed_edits",
    "nickname_groups",
    "same_nickname",
]

STRONG = frozenset({"exact", "close", "nickname", "script", "native"})
FULL_CREDIT = STRONG | {"rough", "initial", "abbreviation"}
# Scripts that leave vowels out or only approximate foreign sounds: agreement in sound is the
# best evidence a spelling in them can give.
SOUND_SCRIPTS = frozenset(
    {"Arabic", "Hebrew", "Syriac", "Thaana", "Kana", "Katakana", "Hiragana", "Japanese"}
)
NATIVE_SCRIPTS = frozenset({"Han", "Japanese", "Hangul"})
SYLLABLE_SCRIPTS = frozenset({"Han", "Hangul"})
TYPO_SIMILARITY = 0.75  # spelling similarity from which two tokens differ by a typo
_FORMS = 4  # the forms compared, as in the token matrix
_PATH = Path(__file__).with_name("data") / "nicknames.yml"


def _load_nicknames() -> dict[str, frozenset[int]]:
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(_PATH.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    groups: dict[str, set[int]] = {}
    for number, line in enumerate(raw["groups"]):
        for name in str(line).split(","):
            key = _key(name)
            if key:
                groups.setdefault(key, set()).add(number)
    return {k: frozenset(v) for k, v in groups.items()}


def _key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.strip().casefold())
    return "".join(ch for ch in text if ch.isascii() and ch.isalpha())


_NICKNAMES = _load_nicknames()


def nickname_groups(latin: str) -> frozenset[int]:
    """The nickname groups a Latin given name belongs to (empty when none)."""
    return _NICKNAMES.get(latin, frozenset())


def same_nickname(a: NameToken, b: NameToken) -> bool:
    """Two tokens are forms of one given name (Bill and William, Sasha and Aleksandr)."""
    groups = nickname_groups(a.latin)
    if not groups or a.latin == b.latin:
        return False
    return any(groups & nickname_groups(form) for form in b.forms[:_FORMS])


def allowed_edits(length: int) -> int:
    """Edits that still count as a typo in a token of ``length`` letters."""
    if length <= 4:
        return 0  # short tokens, acronyms above all, agree exactly or not at all
    return max(1, (length - 1) // 4)


def _gendered(a: str, b: str) -> bool:
    """A feminine ending against a masculine one: Antonia/Antonio, Ivanova/Ivanov."""
    if min(len(a), len(b)) < 4:
        return False
    if len(a) == len(b) and a[:-1] == b[:-1]:
        return {a[-1], b[-1]} in ({"a", "o"}, {"a", "e"})
    short, long = sorted((a, b), key=len)
    return long == short + "a"


@lru_cache(maxsize=200_000)
def _best_spelling(q: NameToken, c: NameToken) -> tuple[float, str, str]:
    """The most alike pair of forms: (similarity, query form, candidate form)."""
    best = (-1.0, "", "")
    for a in q.forms[:_FORMS] or (q.raw,):
        for b in c.forms[:_FORMS] or (c.raw,):
            sim = OSA.normalized_similarity(a, b)
            if sim > best[0]:
                best = (sim, a, b)
                if sim == 1.0:
                    return best
    return best


@lru_cache(maxsize=200_000)
def agreement(q: NameToken, c: NameToken) -> tuple[str, float]:
    """How ``q`` and ``c`` agree (see the module text) and their best spelling similarity."""
    if q.is_initial or c.is_initial:
        return "initial", 0.0
    if q.script == c.script and q.script in NATIVE_SCRIPTS:
        return "native", 0.0
    spell, a, b = _best_spelling(q, c)
    if spell >= 1.0:
        return "exact", spell
    if same_nickname(q, c) or same_nickname(c, q):
        return "nickname", spell
    if _gendered(a, b) or _gendered(q.latin, c.latin):
        return "differs", spell
    edits = OSA.distance(a, b)
    shortest = min(len(a), len(b))
    if q.script in SYLLABLE_SCRIPTS or c.script in SYLLABLE_SCRIPTS:
        # A romanised Chinese or Korean syllable that differs in one letter is another
        # syllable (ming and ping, yongil and kyongil): only long names allow one edit.
        typo = edits <= (1 if shortest >= 8 else 0)
    else:
        typo = spell >= TYPO_SIMILARITY and edits <= allowed_edits(shortest)
    if typo:
        same_start = a[:1] == b[:1] or sorted(a[:2]) == sorted(b[:2])  # Awlijan: Walijan
        return ("close" if same_start else "rough"), spell
    shared = set(q.skeletons) & set(c.skeletons)
    if not shared and (q.script in SYLLABLE_SCRIPTS or c.script in SYLLABLE_SCRIPTS):
        return "differs", spell  # another syllable that sounds otherwise: another name
    if (q.script in SOUND_SCRIPTS or c.script in SOUND_SCRIPTS) and (
        spell >= 0.6 or any(len(k) >= 4 for k in shared)
    ):
        if shared:
            return "script", spell
    return "approximate", spell


def abbreviates(short: str, full: str) -> bool:
    """``short`` is a contraction of ``full``: Intl for International, Dept for Department
    (four letters or more, at most one vowel, its letters in order, the same first and last
    letter, at most half as long)."""
    if not 4 <= len(short) <= len(full) // 2 or short[0] != full[0] or short[-1] != full[-1]:
        return False
    if sum(ch in "aeiouy" for ch in short) > 1:
        return False
    rest = iter(full[1:-1])
    return all(ch in rest for ch in short[1:-1])


def acronym_of(tokens: list[NameToken], skip: bool = True) -> str:
    """Initials of a run of tokens (particles and "of", "the" skipped unless ``skip`` is
    False); a hyphenated token alone gives one per part."""
    letters: list[str] = []
    for token in tokens:
        if skip and (token.latin in PARTICLES or token.latin in _FILLERS):
            continue
        parts = [p for p in token.raw.replace("‐", "-").split("-") if p]
        if len(parts) > 1 and len(tokens) == 1:
            letters.extend(_first_letter(p) for p in parts)
        else:
            letters.append(token.latin[:1])
    return "".join(letters)


_FILLERS = frozenset({"of", "the", "and", "for", "und", "et", "des", "y", "i"})


def _first_letter(part: str) -> str:
    text = unicodedata.normalize("NFKD", part.casefold())
    return next((ch for ch in text if ch.isascii() and ch.isalnum()), "")
