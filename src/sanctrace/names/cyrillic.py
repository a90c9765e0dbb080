"""Cyrillic (Russian, Ukrainian, Belarusian) to the Latin spellings lists actually use.

One token gives up to eight spellings, most common first: BGN/PCGN (Yevgeniy), BGN with
plain initial e (Evgeniy, the usual sanctions-list spelling), popular English (Evgeny,
Dmitry, Alexei), passport ICAO 9303 (Evgenii), popular with -i (Yevgeni), scholarly ISO 9
without diacritics (Evgenij, Scerbakov), German (Jewgeni, Schtscherbakow) and French
(Evgueni, Poutine). Ukrainian and Belarusian tokens, told apart by their own letters, get
the national systems first (Volodymyr, Uladzimir).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from sanctrace.names.scripts import fallback

_VOWELS = set("аеёиоуыэюяіїє")
_SIBILANTS = set("жчшщ")
_LETTER_MARKS = ("\u0306", "\u0308")
_COMMON = dict(
    pair.split(":")
    for pair in (
        "а:a б:b в:v г:g д:d з:z и:i к:k л:l м:m н:n о:o п:p р:r с:s т:t у:u ф:f ы:y э:e ь: ъ: "
        "ж:zh х:kh ц:ts ч:ch ш:sh щ:shch і:i ї:yi є:ye ґ:g ў:w е:e ё:yo ю:yu я:ya й:y"
    ).split()
)


def _pairs(spec: str) -> dict[str, str]:
    return dict(p.split(":") for p in spec.split())


@dataclass(frozen=True)
class System:
    """One romanisation: letter overrides plus the context rules it follows."""

    name: str
    over: dict[str, str] = field(default_factory=dict)
    iot: dict[str, str] = field(
        default_factory=dict
    )  # е ё ю я … word-initially, after vowels, ъ, ь
    plain: dict[str, str] = field(default_factory=dict)  # … after consonants
    initial_e: str | None = None  # word-initial е, when it differs from iot
    yo_sibilant: str = "e"  # ё after ж ч ш щ
    short_i: str = "y"  # й before a consonant
    final_i: str = "y"  # й at the end of the word
    end_iy: str = "iy"  # final -ий
    end_yy: str = "yy"  # final -ый
    ks_x: bool = False  # кс → x
    double_s: bool = False  # intervocalic с → ss
    gu: bool = False  # г before е, и → gu
    ow: bool = False  # final -ов, -ев → ow, ew
    ine: bool = False  # final -ин → ine
    initial_only: bool = False  # iot applies word-initially only (Ukrainian KMU 2010)
    initial_i: str | None = None  # word-initial й, when it differs from short_i


def _s(name: str, over: str = "", iot: str = "", plain: str = "", **kw: object) -> System:
    return System(name, _pairs(over), _pairs(iot), _pairs(plain), **kw)  # type: ignore[arg-type]


_YE = "е:ye ё:yo ю:yu я:ya"
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
RUSSIAN = (
    _s("bgn", iot=_YE, plain="е:e ё:e ю:yu я:ya"),
    _s("bgn-e", iot="е:e ё:e ю:yu я:ya", plain="е:e ё:e ю:yu я:ya"),
    _s("popular", iot=_YE, plain="е:e ё:yo ю:yu я:ya", initial_e="e", yo_sibilant="o",
       final_i="i", end_iy="y", end_yy="y", ks_x=True),
    _s("icao", over="ъ:ie", iot="е:e ё:e ю:iu я:ia", plain="е:e ё:e ю:iu я:ia",
       short_i="i", final_i="i", end_iy="ii", end_yy="yi"),
    _s("popular-i", iot=_YE, plain="е:e ё:yo ю:yu я:ya", yo_sibilant="o", end_iy="i", end_yy="y"),
    _s("scholarly", over="ж:z х:h ц:c ч:c ш:s щ:sc", iot="е:e ё:e ю:ju я:ja",
       plain="е:e ё:e ю:ju я:ja", short_i="j", final_i="j", end_iy="ij", end_yy="yj"),
    _s("german", over="в:w ж:sch з:s х:ch ц:z ч:tsch ш:sch щ:schtsch", iot="е:je ё:jo ю:ju я:ja",
       plain="е:e ё:jo ю:ju я:ja", yo_sibilant="o", short_i="j", final_i="j", end_iy="i",
       end_yy="y", double_s=True, ow=True),
    _s("french", over="у:ou ж:j ч:tch ш:ch щ:chtch", iot="е:ie ё:io ю:iou я:ia",
       plain="е:e ё:io ю:iou я:ia", initial_e="e", yo_sibilant="o", short_i="i", final_i="i",
       end_iy="i", end_yy="y", double_s=True, gu=True, ine=True),
)
# fmt: on
_UA_IOT = "є:ye ї:yi ю:yu я:ya"
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
UKRAINIAN = (
    _s("ukrainian", over="г:h и:y", iot=_UA_IOT, plain="є:ie ї:i ю:iu я:ia", short_i="i",
       final_i="i", initial_i="y", end_iy="yi", end_yy="yi", initial_only=True),
    _s("ukrainian-popular", over="г:h и:y", iot=_UA_IOT, plain=_UA_IOT, end_iy="y", end_yy="y"),
    _s("ukrainian-g", over="и:y", iot=_UA_IOT, plain=_UA_IOT, end_iy="iy", end_yy="iy"),
)
# fmt: on
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
BELARUSIAN = (
    _s("belarusian", over="г:h ў:u", iot="е:ye ё:yo ю:yu я:ya", plain="е:ie ё:io ю:iu я:ia",
       short_i="i", final_i="i", end_yy="y"),
    _s("belarusian-latin", over="г:h ў:u ж:z х:ch ц:c ч:c ш:s", iot="е:je ё:jo ю:ju я:ja",
       plain="е:ie ё:io ю:iu я:ia", short_i="j", final_i="j", end_yy="y"),
    _s("belarusian-w", over="г:h ў:w", iot=_YE, plain="е:e ё:yo ю:yu я:ya", end_yy="y"),
)
# fmt: on


def romanize(token: str, system: System) -> str:
    """One lower-case Cyrillic token in one system."""
    body, tail = token, ""
    if len(token) > 3 and token.endswith("ий"):
        body, tail = token[:-2], system.end_iy
    elif len(token) > 3 and token.endswith("ый"):
        body, tail = token[:-2], system.end_yy
    out: list[str] = []
    n = len(body)
    i = 0
    while i < n:
        c = body[i]
        prev = body[i - 1] if i else ""
        nxt = body[i + 1] if i + 1 < n else ""
        iotated = i == 0 or (not system.initial_only and (prev in _VOWELS or prev in "ъь'’"))
        if c == "е" and i == 0 and system.initial_e is not None:
            out.append(system.initial_e)
        elif c == "ё" and prev in _SIBILANTS:
            out.append(system.yo_sibilant)
        elif c in system.iot or c in system.plain:
            table = system.iot if iotated else system.plain
            out.append(table.get(c) or system.plain.get(c) or _COMMON[c])
        elif c == "й":
            last = i == n - 1 and not tail
            first = system.initial_i if i == 0 else None
            out.append(first or (system.final_i if last else system.short_i))
        elif c == "г" and system.gu and nxt in ("е", "и", "э", "ы"):
            out.append("gu")
        elif c == "с" and system.double_s and prev in _VOWELS and nxt in _VOWELS:
            out.append("ss")
        elif c == "к" and nxt == "с" and system.ks_x:
            out.append("x")
            i += 1
        elif c == "в" and system.ow and i == n - 1 and prev in "оеё" and not tail:
            out.append("w")
        elif c == "н" and system.ine and i == n - 1 and prev == "и" and not tail:
            out.append("ne")
        else:
            mapped = system.over.get(c)
            if mapped is None:
                mapped = _COMMON.get(c)
            out.append(mapped if mapped is not None else fallback(c))
        i += 1
    return "".join(out) + tail


def language(token: str) -> str:
    """The language the letters point to ("uk", "be" or "ru"): і, ї, є, ґ, ў are not Russian."""
    if "ў" in token:
        return "be"
    if any(c in token for c in "їєґ"):
        return "uk"
    if "і" in token:
        return "be" if any(c in token for c in "ыэё") or "дз" in token else "uk"
    return "ru"


def cyrillic_forms(token: str, k: int = 8) -> list[str]:
    """Spelling variants of one Cyrillic token, most common first.

    A word of an organisation name also gets its English rendering second (завод: plant,
    приборостроительный: instrumentmaking) and a place adjective its place (Муромский:
    murom), so a company name meets its English translation on another list
    (``data/ru_org_glossary.yml``)."""
    forms = _spellings(token, k)
    extra = translations(token.lower())
    if not extra or not forms:
        return forms
    return list(dict.fromkeys([forms[0], *extra, *forms[1:]]))[:k]


_GLOSSARY_PATH = Path(__file__).with_name("data") / "ru_org_glossary.yml"
_MAX_ENDING = 4  # letters a stem may leave: a case ending (-ого, -ская, -ий)
_PLACE_ADJECTIVE = re.compile(
    r"^(?P<stem>..+?)(?:ск|цк)(?:ий|ая|ое|ие|ого|ой|ому|ую|ом|их|ым|ими)$"
)


def _load_glossary() -> dict[str, str]:
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(_GLOSSARY_PATH.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    return {str(k).lower(): str(v).lower() for k, v in raw["stems"].items()}


_GLOSSARY = _load_glossary()
_LONGEST = max(map(len, _GLOSSARY))


@lru_cache(maxsize=50_000)
def translations(token: str) -> tuple[str, ...]:
    """English renderings of one lower-case Russian word of an organisation name."""
    for end in range(min(len(token), _LONGEST), 2, -1):
        english = _GLOSSARY.get(token[:end])
        if english is not None and len(token) - end <= _MAX_ENDING:
            return (english,)
    m = _PLACE_ADJECTIVE.match(token)
    if m:  # муромский -> Murom, a place named by its adjective
        stem = _spellings(m.group("stem"), 1)
        return tuple(stem)
    return ()


def _spellings(token: str, k: int = 8) -> list[str]:
    """Spelling variants of one Cyrillic token in the romanisation systems, most common first."""
    # Stress accents go; the breve and diaeresis that make й, ў, ё, ї stay.
    decomposed = unicodedata.normalize("NFD", token.lower())
    kept = "".join(ch for ch in decomposed if ch in _LETTER_MARKS or not unicodedata.combining(ch))
    token = unicodedata.normalize("NFC", kept)
    lang = language(token)
    # Ukrainian written without і, ї, є, ґ looks Russian: its own spelling comes last.
    systems = {"uk": UKRAINIAN, "be": BELARUSIAN}.get(lang, ()) + RUSSIAN
    systems += UKRAINIAN[:1] if lang == "ru" else ()
    out: list[str] = []
    for system in systems:
        form = "".join(ch for ch in romanize(token, system) if ch.isascii() and ch.isalnum())
        if form and form not in out:
            out.append(form)
    return out[:k]
