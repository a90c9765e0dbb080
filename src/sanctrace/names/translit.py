"""Transliteration layer of the name matcher: any script to Latin comparison forms.

``token_forms`` gives the Latin spellings of one name token, ``latin_forms`` of a whole
name, ``split_tokens`` is the tokeniser both use, and ``skeleton`` is the phonetic key that
makes spelling variants of one foreign name collide. Pure functions, cached.

Latin tokens written the German, Dutch or French way (Wladimir, Poetin, Poutine) and number
words (Forty-Four) also get the forms of ``respell``.

Japanese kanji: a token mixing kanji and kana gives no forms, and a kanji-only token gets
anyascii's Mandarin reading (山田 → shantian), which is right for Chinese names only. The
caller screens Japanese persons through their katakana reading.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from sanctrace.model import char_script
from sanctrace.names.cyrillic import cyrillic_forms
from sanctrace.names.kana import kana_forms
from sanctrace.names.respell import number_form, respellings
from sanctrace.names.scripts import (
    arabic_forms,
    best_paths,
    clean,
    fallback,
    greek_forms,
    han_syllables,
    hangul_forms,
    hangul_syllable_forms,
    hebrew_forms,
    is_korean_surname,
    thai_forms,
)

__all__ = ["han_syllables", "latin_forms", "skeleton", "split_tokens", "token_forms"]

MAX_FORMS = 8

# Separators between name tokens. Apostrophes and hyphens inside a token stay (O'Brien,
# Jong-un); a dash standing alone between spaces is dropped as a token without letters.
_SPLIT = re.compile(r"[\s,;:/\\|・･·•‧∙⋅=゠()\[\]{}<>「」『』【】〈〉《》〔〕\"“”„«»!?.。、&+*#]+")
_INNER_PUNCT = re.compile(r"['’‘`´ʼʻʹʺ\-‐‑‒–—―_]")
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_LATIN_SPECIAL = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ı": "i", "ð": "d",
     "þ": "th", "ŋ": "ng", "ħ": "h", "ŧ": "t", "ſ": "s", "ĸ": "q", "ɨ": "i", "ə": "e"}
)
# fmt: on
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


_ACRONYM = re.compile(r"(?<![^\W\d_])(?:[^\W\d_]\.){2,}(?![^\W\d_])")


def split_tokens(text: str) -> list[str]:
    """Name tokens of ``text`` after NFKC (case kept): split on spaces, commas, ・, ＝ …

    Dotted acronyms stay one token: A.B.C. is "ABC", not three initials.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _ACRONYM.sub(lambda m: m.group(0).replace(".", "") + " ", text)
    return [t for t in _SPLIT.split(text) if any(ch.isalnum() for ch in t)]


def _latin(token: str) -> list[str]:
    if token.isascii():
        form = clean(token)
        return [form] if form else []
    german = token.translate(_UMLAUTS) if any(ch in token for ch in "äöü") else None
    out = []
    for text in (token, german):
        if text is None:
            continue
        text = unicodedata.normalize("NFKD", text.translate(_LATIN_SPECIAL))
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        form = clean(text) if text.isascii() else fallback(text)
        if form and form not in out:
            out.append(form)
    return out


def _script(token: str) -> str:
    counts: dict[str, int] = {}
    for ch in token:
        s = char_script(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    if not counts:
        return "Common"
    kana = counts.get("Katakana", 0) + counts.get("Hiragana", 0)
    if kana and counts.get("Han", 0):
        return "Japanese"
    if kana:
        return "Kana"
    return max(counts.items(), key=lambda kv: kv[1])[0]


def _script_runs(text: str) -> list[str]:
    """``text`` cut where the script changes; digits and marks stay with their letters."""
    runs: list[str] = []
    current = ""
    last = None
    for ch in text:
        script = char_script(ch)
        if script in ("Hiragana", "Katakana"):
            script = "Kana"
        if script is not None and last is not None and script != last and current:
            runs.append(current)
            current = ""
        current += ch
        last = script or last
    return runs + [current] if current else runs


def _fallback_forms(text: str) -> list[str]:
    return [fallback(text)]


_HANDLERS: dict[str, Callable[[str], list[str]]] = {
    "Latin": _latin,
    "Cyrillic": cyrillic_forms,
    "Kana": kana_forms,
    "Greek": greek_forms,
    "Arabic": arabic_forms,
    "Hebrew": hebrew_forms,
    "Hangul": hangul_forms,
    "Thai": thai_forms,
    "Armenian": lambda t: [fallback(t).replace("ow", "u"), fallback(t)],  # ու is u
    "Han": lambda t: ["".join(han_syllables(t))],
    "Japanese": lambda t: [],
}


@lru_cache(maxsize=300_000)
def _token_forms(token: str) -> tuple[str, ...]:
    text = _INNER_PUNCT.sub("", unicodedata.normalize("NFKC", token).casefold())
    if not text:
        return ()
    if text.isascii():
        form = clean(text)
        return _with_respellings([form]) if form else ()
    script = _script(text)
    runs = _script_runs(text) if script != "Japanese" else [text]
    if len(runs) > 1:  # NIIクロン, SNPOエレロン: each part in its own script
        segs = [[(f, float(rank)) for rank, f in enumerate(_token_forms(run))] for run in runs]
        forms = best_paths([seg for seg in segs if seg], MAX_FORMS)
    else:
        forms = _HANDLERS.get(script, _fallback_forms)(text)
        if not forms and script != "Japanese":
            forms = _fallback_forms(text)
    if script == "Latin":
        return _with_respellings(forms)
    seen: dict[str, None] = {}
    for form in forms:
        form = clean(form)
        if form:
            seen.setdefault(form, None)
    return tuple(seen)[:MAX_FORMS]


def _with_respellings(forms: list[str]) -> tuple[str, ...]:
    """Latin forms, then the digits a number word stands for or the English-style spelling
    of an older rendering (Wladimir -> vladimir, Forty-Four -> 44): see ``respell``."""
    out = [f for f in (clean(f) for f in forms) if f]
    if out:
        number = number_form(out[0])
        out += [number] if number else [r for f in out[:2] for r in respellings(f)]
    return tuple(dict.fromkeys(out))[:MAX_FORMS]


def token_forms(token: str) -> list[str]:
    """Lower-case ASCII comparison forms of one name token in any script, best first."""
    return list(_token_forms(token))


@lru_cache(maxsize=50_000)
def _split_forms(token: str) -> tuple[str, ...]:
    """Forms of a Han or Hangul token, also split after the surname and per syllable."""
    forms = list(_token_forms(token))
    text = unicodedata.normalize("NFKC", token)
    script = _script(text)
    if not 2 <= len(text) <= 4:
        return tuple(forms)
    if script == "Han":
        sylls = [han_syllables(text)]
    elif script == "Hangul" and is_korean_surname(text[0]):
        sylls = hangul_syllable_forms(text)[:3]
    else:
        return tuple(forms)
    # Each reading joined, split after the surname, and split per syllable, in turn.
    out: list[str] = []
    for i, syl in enumerate(sylls):
        if i < len(forms):
            out.append(forms[i])
        if len(syl) >= 2:
            out += [syl[0] + " " + "".join(syl[1:]), " ".join(syl)]
    return tuple(dict.fromkeys(out + forms))


def latin_forms(text: str, limit: int = MAX_FORMS) -> list[str]:
    """Whole-name Latin forms: the product of token forms, most likely first, joined by spaces.

    Han and Hangul names, written without spaces, are also offered split after the
    surname (习近平 → "xijinping", "xi jinping", "xi jin ping").
    """
    segs = []
    for tok in split_tokens(text):
        forms = _split_forms(tok)
        if forms:
            segs.append([(f + " ", float(rank)) for rank, f in enumerate(forms)])
    return best_paths(segs, limit, post=lambda s: " ".join(s.split()))


# --- skeleton ------------------------------------------------------------------------------

# Spellings of one sound that transliteration systems disagree on, each to one key letter.
# A table of data, laid out by rows: the formatter would put one item a line.
# fmt: off
_SKELETON_UNITS = {
    "schtsch": "s", "shtch": "s", "chtch": "s", "shch": "s", "szcz": "s", "tsch": "c",
    "sch": "s", "tch": "c", "dzh": "j", "sh": "s", "sz": "s", "ch": "c", "cz": "c", "ck": "k",
    "dj": "j", "zh": "j", "kh": "h", "gh": "g", "ph": "f", "th": "t", "dh": "d", "bh": "b",
    "qu": "k", "q": "k", "x": "ks", "w": "v", "l": "r", "tz": "ts", "j": "j",
}
# fmt: on
# One pass, longest spelling first; c, sc and gu depend on the next letter.
_SKELETON_RE = re.compile(
    "|".join(
        sorted(
            [*_SKELETON_UNITS, "sc(?=[eiy])", "gu(?=[eiy])", "c"],
            key=lambda u: -len(u.split("(")[0]),
        )
    )
)
_VOWEL_CHARS = set("aeiouy")
_VOWEL_RUN = re.compile(r"[aeiouy]+")
_VOWEL_CLASS = {"a": "a", "e": "e", "i": "e", "y": "e", "o": "o", "u": "o"}
_DOUBLED = re.compile(r"(.)\1+")


def _unit(m: re.Match[str]) -> str:
    s = m.group(0)
    if s == "sc":  # scholarly šč before e, i (Ščerbakov)
        return "s"
    if s == "gu":  # French gu before e, i (Evgueni)
        return "g"
    if s == "c":
        nxt = m.string[m.end() : m.end() + 1]
        return "s" if nxt and nxt in "eiy" else "k"
    return _SKELETON_UNITS[s]


def _vowel_class(run: str) -> str:
    if run == "oe":  # Dutch oe is u (Poetin)
        return "o"
    core = run.rstrip("y") or run
    return _VOWEL_CLASS[core[-1]]


@lru_cache(maxsize=300_000)
def skeleton(latin: str, liquids: bool = True) -> str:
    """Phonetic key of one Latin token: spelling variants of one foreign name collide.

    Consonants, after folding the spellings transliteration systems disagree on:
    sh/sch/sz/š/s → s, ch/tch/tsch/cz/č → c, zh/j/dj/dzh → j, kh/h → h, ph → f, th → t,
    q/ck → k, x → ks, w → v, l → r (Japanese and Korean have one liquid), Hungarian gy →
    d; h drops from long keys; -j/-h after a final vowel drop (Sergej, Abdullah) and doubled letters collapse.
    Vowels drop, so spellings that differ in vowels only, or omit them as Arabic and
    Hebrew do, still meet; a leading vowel (y included) becomes "a". Keys with at most
    three consonants after the first letter keep the class of the first vowel (a; e/i/y;
    o/u) instead, since there the vowel is much of what tells names apart (Hasan ≠ Husayn).

    ``liquids=False`` keeps l and r apart, for two names both written in Latin letters.

    Vladimir, Wladimir, Vlagyimir → vrdmr; Putin, Poutine, Poetin → potn;
    Yevgeniy, Evgeny, Evgenii → evgn; Aleksandr, Alexander → arksndr.
    """
    s = clean(latin)
    if not s:
        return ""
    if not liquids:
        s = s.replace("l", "1")  # keeps l apart from r: Castillo is not Castro
    s = re.sub(r"(?<=[aeiouy])[jh]$", "", s)
    s = re.sub(r"(?<=[aeiou])gy(?=[aeiou])", "d", s)
    s = _DOUBLED.sub(r"\1", _SKELETON_RE.sub(_unit, s))
    tail = "".join(ch for ch in s[1:] if ch not in _VOWEL_CHARS)
    if len(tail) > 3:
        # In long keys h is the least stable letter (х as kh, h or nothing: Tikhomirov,
        # チホミロフ read tihomirof or thomirov), so it drops there too.
        return ("a" if s[0] in _VOWEL_CHARS else s[0]) + tail.replace("h", "")
    if len(s) > 1 and s[0] == "y" and s[1] in "aeiou":
        s = s[1:]  # a leading y before a vowel is a glide: Yevgeniy, Evgeny
    m = _VOWEL_RUN.search(s)
    if m is None:
        return s[0] + tail
    rest = "".join(ch for ch in s[m.end() :] if ch not in _VOWEL_CHARS)
    if m.start() == 0:
        return _vowel_class(m.group(0)) + rest
    return s[0] + _vowel_class(m.group(0)) + "".join(ch for ch in s[1:] if ch not in _VOWEL_CHARS)
