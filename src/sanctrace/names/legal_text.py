"""Text folding and tokenising for legal-form matching: case, quotes, homoglyphs, CJK edges."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CJK = (
    "\u1100-\u11ff\u3005\u3006\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
_APOS = "'\u2019\u02bc\u02b9`\u00b4\u2018"


def _token_re(dots: bool, cjk: bool) -> re.Pattern[str]:
    """Token pattern; the variants without dotted initialisms or CJK runs are faster."""
    excl = _CJK if cjk else ""
    letter, wordch = rf"[^\W\d_{excl}]", rf"[^\W_{excl}]"
    parts = [rf"(?P<abbr>(?:{letter}\.)+{letter}(?!{wordch})\.?)"] if dots else []
    parts.append(rf"(?P<word>{wordch}+(?:[{_APOS}]{wordch}+)*)")
    if cjk:
        parts.append(rf"(?P<cjk>[{_CJK}]+)")
    return re.compile("|".join(parts))


_TOKEN_RES = {(d, c): _token_re(d, c) for d in (False, True) for c in (False, True)}
_APOS_RE = re.compile(f"[{_APOS}]")
# Separators that start a new part of a name (for the start/end rules).
_STRONG_RE = re.compile(r"[,;:()\[\]{}«»\"“”„‟‹›<>「」『』【】〔〕、，；：|–—―]|\s-\s")
_APOS_DEL = str.maketrans("", "", _APOS)


def _build_fold() -> dict[int, str]:
    """A 1:1 char map: lower case, no accents (Latin, Greek, Cyrillic, Armenian)."""
    table: dict[int, str] = {}
    ranges = [(0x41, 0x5B), (0xC0, 0x530), (0x1E00, 0x2000)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            ch = chr(cp)
            low = ch.lower() if len(ch.lower()) == 1 else ch
            base = "".join(c for c in unicodedata.normalize("NFD", low) if c.isalpha())
            out = base if len(base) == 1 else low
            if out != ch:
                table[cp] = out
    for src, dst in {
        "ı": "i",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ø": "o",
        "Ø": "o",
        "ħ": "h",
        "ς": "σ",
        "ə": "e",
        "Ə": "e",
    }.items():
        table[ord(src)] = dst
    return table


_FOLD = _build_fold()
_FOLD_RE = re.compile("[" + "".join(chr(c) for c in sorted(_FOLD) if c > 0x7F) + "]")


def _fold(text: str) -> str:
    """Apply ``_FOLD`` (1:1): str.lower() plus a targeted fix-up is faster than translate."""
    low = text.lower()
    if len(low) != len(text):
        return text.translate(_FOLD)
    if low.isascii():
        return low
    return _FOLD_RE.sub(lambda m: _FOLD[ord(m.group())], low)


def _normalise(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """NFKC + fold; with a map from each output char to its source span (None: same)."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return _fold(text), None
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        piece = unicodedata.normalize("NFKC", text[i:j])
        out.append(piece)
        spans.extend([(i, j)] * len(piece))
        i = j
    return _fold("".join(out)), spans


# Latin letters typed into Cyrillic words ("ОБЩEСТВО" with a Latin E).
_HOMOGLYPHS = str.maketrans("aceopxykmtbh", "асеорхукмтвн")
_LATIN_RE = re.compile("[a-z]")
_CYRILLIC_RE = re.compile("[\u0400-\u04ff]")

_SKEL_STEPS = (
    ("shch", "sh"),
    ("shh", "sh"),
    ("sch", "sh"),
    ("ye", "e"),
    ("j", "i"),
    ("y", "i"),
    ("ts", "c"),
    ("tc", "c"),
)
_SKEL_END = re.compile(r"i+$")


@lru_cache(maxsize=65536)
def _skeleton_long(word: str) -> str:
    for a, b in _SKEL_STEPS:
        word = word.replace(a, b)
    return _SKEL_END.sub("i", word)


def _skeleton(word: str) -> str:
    """Fold transliteration variants of a long ASCII word (Obshchestvo ~ Obschestvo)."""
    return _skeleton_long(word) if len(word) >= 5 and word.isascii() else word


def _tokens(folded: str) -> list[tuple[str, int, int, int]]:
    """Tokens of a folded text as (key, start, end, part); part grows at strong separators."""
    toks: list[tuple[str, int, int, int]] = []
    part, prev_end = 0, 0
    search = _STRONG_RE.search if _STRONG_RE.search(folded) else None
    apos = _APOS_RE.search(folded) is not None
    rx = _TOKEN_RES["." in folded, _CJK_CHAR.search(folded) is not None]
    for m in rx.finditer(folded):
        start, end = m.span()
        if search is not None and toks and search(folded, prev_end, start):
            part += 1
        kind = m.lastgroup
        if kind == "word":
            word = m.group()
            if apos:
                word = word.translate(_APOS_DEL)
            if not word.isascii() and _LATIN_RE.search(word) and _CYRILLIC_RE.search(word):
                word = word.translate(_HOMOGLYPHS)
            key = _skeleton(word)
        elif kind == "abbr":
            key = m.group().rstrip(".")
        else:
            key = "\x00"  # CJK text: name content, never a token alias
        toks.append((key, start, end, part))
        prev_end = end
    return _merge_letters(folded, toks) if len(toks) > 1 else toks


_GAP_RE = re.compile(r"[\s.]+")


def _merge_letters(
    folded: str, toks: list[tuple[str, int, int, int]]
) -> list[tuple[str, int, int, int]]:
    """Spaced initialisms ("S A R L", "L. L. C.") become one dotted token ("s.a.r.l")."""
    out: list[tuple[str, int, int, int]] = []
    run: list[tuple[str, int, int, int]] = []
    for tok in toks + [("", 0, 0, -1)]:
        single = len(tok[0]) == 1 and tok[0].isalpha()
        if single and run and _GAP_RE.fullmatch(folded, run[-1][2], tok[1]):
            run.append(tok)
            continue
        if len(run) > 1:
            out.append((".".join(t[0] for t in run), run[0][1], run[-1][2], run[0][3]))
        else:
            out.extend(run)
        run = [tok] if single else []
        if not single and tok[3] >= 0:
            out.append(tok)
    return out


# --------------------------------------------------------------- alias matcher

ANY, EDGE, PREFIX, SUFFIX, NEAR = "any", "edge", "prefix", "suffix", "near"
