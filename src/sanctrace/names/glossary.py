"""Word-by-word English renderings of Japanese organisation names.

Japanese sanctions lists (METI, MOF) often render Russian organisation names by
translation: 連邦保安庁 is "Federal Security Service", 国防省通信センター is the
"Communication Center of the Ministry of Defence". ``translate_ja`` turns such a
name into English words (order not preserved; scorers compare token sets):

* kanji (and the hiragana glued to them) are segmented against
  ``data/ja_org_glossary.yml`` by dynamic programming (fewest unknown characters,
  then fewest words); unknown kanji pass through as they are;
* katakana runs are names, passed through untouched for the transliteration
  layer, except known loanwords (センター -> center), also when glued to the end
  of a name (カザンヘリコプター -> カザン helicopters);
* Latin words and numbers pass through; 第48 becomes "48th".

Up to three renderings are returned: the n-th uses every word's n-th English
alternative (or its last one).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["translate_ja", "glossary_words"]

_MAX_ALTERNATIVES = 3
_PATH = Path(__file__).with_name("data") / "ja_org_glossary.yml"


def _yaml_load(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    return data


def _load() -> dict[str, tuple[str, ...]]:
    raw = _yaml_load(_PATH.read_text(encoding="utf-8"))
    words: dict[str, tuple[str, ...]] = {}
    for key, values in raw["words"].items():
        key = unicodedata.normalize("NFKC", str(key))
        if key in words:
            raise ValueError(f"ja_org_glossary.yml: duplicate word {key!r}")
        words[key] = tuple(str(v).lower() for v in values or ())
    return words


_WORDS = _load()
_MAX_LEN = max(map(len, _WORDS))
_KATA_WORDS = {k: v for k, v in _WORDS.items() if re.fullmatch(r"[\u30a0-\u30ff]+", k)}

_KANJI = "\u3005\u3006\u3040-\u309f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN_RE = re.compile(
    rf"(?P<kanji>[{_KANJI}]+)|(?P<kata>[\u30a1-\u30fa\u30fc-\u30ff]+)"
    rf"|(?P<latin>[^\W_{_KANJI}\u30a0-\u30ff]+)"
)
_HIRAGANA_RE = re.compile(r"[\u3040-\u309f]+")

Word = tuple[str, ...]  # English alternatives; a 1-tuple of the source for pass-through


def glossary_words() -> dict[str, tuple[str, ...]]:
    """The glossary: Japanese word -> English alternatives (empty: dropped)."""
    return dict(_WORDS)


@lru_cache(maxsize=4096)
def _segment(run: str) -> tuple[Word, ...]:
    """Split a kanji/hiragana run into glossary words; unknown kanji pass through."""
    n = len(run)
    best: list[tuple[int, int, int, str | None] | None] = [None] * (n + 1)
    best[0] = (0, 0, 0, None)  # (unknown chars, words, back pointer, word)
    for i in range(n):
        here = best[i]
        if here is None:
            continue
        unknown, count = here[0], here[1]
        for j in range(i + 1, min(n, i + _MAX_LEN) + 1):
            piece = run[i:j]
            if piece in _WORDS:
                cand: tuple[int, int, int, str | None] = (unknown, count + 1, i, piece)
                there = best[j]
                if there is None or cand[:2] < there[:2]:
                    best[j] = cand
        cand = (unknown + 1, count + 1, i, None)
        there = best[i + 1]
        if there is None or cand[:2] < there[:2]:
            best[i + 1] = cand
    pieces: list[tuple[str, bool]] = []
    j = n
    while j > 0:
        _, _, i, word = best[j]  # type: ignore[misc]
        pieces.append((run[i:j], word is not None))
        j = i
    pieces.reverse()
    out: list[Word] = []
    pending = ""
    for text, known in pieces:
        if known:
            if pending:
                out.append(_unknown(pending))
                pending = ""
            if _WORDS[text]:
                out.append(_WORDS[text])
        else:
            pending += text
    if pending:
        out.append(_unknown(pending))
    return tuple(w for w in out if w)


def _unknown(text: str) -> Word:
    """Unknown text passes through; stray hiragana (particles) are dropped."""
    text = _HIRAGANA_RE.sub("", text)
    return (text,) if text else ()


def _katakana(run: str) -> tuple[Word, ...]:
    """A katakana run: a loanword, a name, or a name glued to a loanword suffix."""
    if run in _KATA_WORDS:
        return (_KATA_WORDS[run],)
    for cut in range(2, len(run) - 1):
        suffix = run[cut:]
        if suffix in _KATA_WORDS:
            head = run[:cut]
            return (_KATA_WORDS.get(head, (head,)), _KATA_WORDS[suffix])
    return ((run,),)


def _ordinal(number: str) -> str:
    n = int(number)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{number}{suffix}"


def translate_ja(text: str) -> list[str]:
    """English renderings of a Japanese organisation name, best first (at most three)."""
    text = unicodedata.normalize("NFKC", text)
    words: list[Word] = []
    ordinal_next = False
    for m in _RUN_RE.finditer(text):
        kind, run = m.lastgroup, m.group()
        if kind == "kanji":
            ordinal_next = run.endswith("第")
            words.extend(_segment(run[:-1] if ordinal_next else run))
            continue
        if kind == "kata":
            words.extend(_katakana(run))
        elif ordinal_next and run.isdigit():
            words.append((_ordinal(run),))
        else:
            words.append((run.lower(),))
        ordinal_next = False
    if not words:
        return [""]
    width = min(_MAX_ALTERNATIVES, max(len(w) for w in words))
    out: list[str] = []
    for k in range(width):
        rendering = " ".join(w[min(k, len(w) - 1)] for w in words)
        if rendering not in out:
            out.append(rendering)
    return out
