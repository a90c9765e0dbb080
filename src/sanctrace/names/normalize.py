"""Names to comparable tokens: script-aware, legal forms typed, honorifics dropped.

A name becomes a ``NormalizedName``: its tokens, each with Latin comparison forms (every
plausible transliteration) and phonetic skeletons, plus the legal forms found in it. Token
order is not kept as meaning: alignment in the scorer is order-free.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from sanctrace.model import detect_script
from sanctrace.names.legal_forms import LegalForm, find_legal_forms, strip_honorifics
from sanctrace.names.translit import skeleton, split_tokens, token_forms

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
    via: str = "name"  # name | reading | translation
    extra: dict = field(default_factory=dict, compare=False, hash=False)

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


def variants(text: str, schema: str | None = None) -> list[NormalizedName]:
    """The name itself plus, for Japanese organisation names, English renderings of its words."""
    out = [normalize(text, schema=schema)]
    script = detect_script(text)
    if (
        script in JAPANESE_SCRIPTS
        and schema != "Person"
        and any(unicodedata.name(ch, "").startswith("CJK") for ch in text)
    ):
        from sanctrace.names.glossary import translate_ja

        for rendering in translate_ja(find_legal_forms(_fold(text))[0])[:3]:
            name = normalize(rendering, via="translation")
            if name.tokens:
                out.append(
                    NormalizedName(
                        text, name.tokens, out[0].legal_forms, name.script, "translation"
                    )
                )
    return [n for n in out if n.tokens]
