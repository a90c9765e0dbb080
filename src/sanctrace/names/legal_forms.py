"""Legal forms (OOO, LLC, 株式会社, (カ), S.A. …) and honorifics as typed tokens.

Data: ``data/legal_forms.yml`` and ``data/honorifics.yml``, compiled once at import.

* Latin, Cyrillic, Greek, Arabic … forms match whole tokens, case/accent-insensitively;
  punctuation between tokens is ignored ("Co., Ltd." == "CO LTD"), apostrophes dropped,
  Russian transliteration variants folded (-oi/-oy/-oj, shch/sch, ts/c, iu/yu), Latin
  homoglyphs in Cyrillic words repaired, and long forms found despite a typo. Dotted or
  spaced initialisms keep their dots ("L.L.C.", "S A R L" -> "s.a.r.l"), so "e.V." is
  not "EV" and "U.S.A." holds no "SA".
* Short forms (<= 3 letters: AO, SA, CO, AG) and generic words (Company, Limited) only
  count at the start or end of the name, or of a part of it delimited by a comma,
  bracket, quote or dash, peeling forms off repeatedly ("ACME CO LTD"). Some forms are
  prefix-only (ИП, IP, PT, カ)), some suffix-only (Tbk, (カ).
* CJK forms are substrings. Bracketed ones ((株), (주)) and those of 4+ characters
  (株式会社, 有限公司) match anywhere, even glued inside a name: "未来株式会社商事" ->
  "未来 商事" (such words are never name content, and METI glues parent and subsidiary
  around them). Shorter ones (会社, 公司) need the start/end of the name, a separator or
  another script on one side, so "航空機製造会社ミグ" keeps its 会社.

Meant for organisation names: on a person name the edge rules take "Ip" from "Ip Man".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml
from rapidfuzz.distance import Levenshtein

from sanctrace.names.legal_text import (
    _APOS,
    _CJK_CHAR,
    ANY,
    EDGE,
    NEAR,
    PREFIX,
    SUFFIX,
    _normalise,
    _tokens,
)

__all__ = ["LegalForm", "alias_table", "all_legal_forms", "compatible", "find_legal_forms"]
__all__ += ["is_japanese_form", "legal_form", "strip_honorifics"]

COMPANY_CLASSES = frozenset(
    {"llc", "joint_stock", "partnership", "generic_company", "state_enterprise", "cooperative"}
)
CLASSES = COMPANY_CLASSES | {"sole_trader", "non_profit", "foundation"}
_COMPATIBLE = frozenset(
    {(c, c) for c in CLASSES}
    | {(c, "generic_company") for c in COMPANY_CLASSES}
    | {("generic_company", c) for c in COMPANY_CLASSES}
    | {("foundation", "non_profit"), ("non_profit", "foundation")}
)


@dataclass(frozen=True)
class LegalForm:
    """One legal form: canonical ``code``, compatibility class ``cls``, English ``label``."""

    code: str
    cls: str
    label: str


# ----------------------------------------------------------------- text folding


_FUZZY_MIN_LETTERS = 16  # aliases at least this long are also found with typos
_FUZZY_MIN_SIMILARITY = 0.9  # normalised Levenshtein similarity of the whole form
_DATA = Path(__file__).with_name("data")


def _yaml_load(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    return data


_Tok = tuple[str, int, int, int]  # a token as _tokens gives it


class _Matcher:
    """Token trie plus CJK substring table over aliases with position rules."""

    def __init__(self) -> None:
        self.trie: dict[str, Any] = {}  # token -> subtrie (recursive); "" -> (value, mode)
        self.cjk: dict[str, dict[str, tuple[object, str]]] = {}  # first char -> alias -> hit
        self.cjk_lens: dict[str, list[int]] = {}  # first char -> alias lengths, longest first
        self.table: list[tuple[str, object, str]] = []
        self.seen: dict[str | tuple[str, ...], tuple[object, str]] = {}
        # long aliases for typo matching: (tokens, joined key, value, exact words needed)
        self.long: list[tuple[int, str, object, int]] = []
        self.anchors: dict[str, list[tuple[int, int]]] = {}  # word -> [(long index, position)]

    def add(self, alias: str, value: object, mode: str | None) -> None:
        """Register ``alias``; ``mode`` None picks ANY/EDGE (tokens) or ANY/NEAR (CJK)."""
        folded, _ = _normalise(alias.strip())
        key: str | tuple[str, ...]
        if _CJK_CHAR.search(folded):
            key = cjk = folded.replace(" ", "")
            if mode is None:
                mode = ANY if len(cjk) >= 4 or cjk.startswith("(") else NEAR
        else:
            key = words = tuple(t[0] for t in _tokens(folded))
            if not words:
                raise ValueError(f"alias {alias!r} has no letters")
            letters = sum(len(k.replace(".", "")) for k in words)
            if mode is None:
                mode = ANY if letters >= 4 and (len(words) == 1 or letters >= 5) else EDGE
        seen = self.seen.get(key)
        if seen is not None and seen != (value, mode):
            raise ValueError(f"{alias!r} clashes with {seen[0]} ({seen[1]})")
        self.table.append((alias, value, mode))
        if seen is not None:
            return
        self.seen[key] = (value, mode)
        if isinstance(key, str):
            self.cjk.setdefault(key[0], {})[key] = (value, mode)
            lens = self.cjk_lens.setdefault(key[0], [])
            if len(key) not in lens:
                lens.append(len(key))
                lens.sort(reverse=True)
        else:
            node = self.trie
            for tok in key:
                node = node.setdefault(tok, {})
            node[""] = (value, mode)
            if mode == ANY and len(key) >= 2 and sum(map(len, key)) >= _FUZZY_MIN_LETTERS:
                idx = len(self.long)
                long_words = [(pos, tok) for pos, tok in enumerate(key) if len(tok) >= 5]
                needed = min(2, len(long_words))
                self.long.append((len(key), " ".join(key), value, needed))
                for pos, tok in long_words:
                    self.anchors.setdefault(tok, []).append((idx, pos))

    def find_cjk(self, folded: str) -> list[tuple[int, int, object]]:
        """CJK alias occurrences as (start, end, value), leftmost-longest."""
        hits: list[tuple[int, int, object]] = []
        i, n = 0, len(folded)
        while i < n:
            table, step = self.cjk.get(folded[i]), 1
            for ln in self.cjk_lens.get(folded[i], ()) if table else ():
                hit = table.get(folded[i : i + ln]) if i + ln <= n else None  # type: ignore[union-attr]
                if hit is not None and _cjk_position_ok(folded, i, i + ln, hit[1]):
                    hits.append((i, i + ln, hit[0]))
                    step = ln
                    break
            i += step
        return hits

    def find_tokens(self, toks: list[tuple[str, int, int, int]]) -> list[tuple[int, int, object]]:
        """Token alias occurrences as (first token, end token, value) after position rules."""
        n, i = len(toks), 0
        cands: list[tuple[int, int, object, str]] = []
        while i < n:
            best = _longest(self.trie, toks, i)
            if best is not None:
                cands.append((i, best[0], best[1][0], best[1][1]))
            i = best[0] if best else i + 1
        if self.anchors:
            cands = self._fuzzy(toks, cands)
        if not cands:
            return []
        # free forms first, then edge forms as they become edges (peeling): "ME TOO LLC"
        consumed, accepted, pending = [False] * n, [], list(cands)
        while pending:
            ready = [c for c in pending if c[3] == ANY or _edge_ok(toks, consumed, *c)]
            if not ready:
                break
            for c in ready:
                accepted.append(c[:3])
                consumed[c[0] : c[1]] = [True] * (c[1] - c[0])
                pending.remove(c)
        return sorted(accepted, key=lambda c: c[0])

    def _fuzzy(
        self, toks: list[_Tok], cands: list[tuple[int, int, object, str]]
    ) -> list[tuple[int, int, object, str]]:
        """Add long aliases spelled with typos ("ОБЩЕСТВО С ОГРАНИЧЕНОЙ ОТВЕТСТВЕННОСТЬЮ").

        An alias is tried only where two of its words (one, if it has one long word)
        occur exactly; windows of about its length around them must reach
        ``_FUZZY_MIN_SIMILARITY`` over the whole form.
        """
        n = len(toks)
        covered = [False] * n
        for c in cands:
            covered[c[0] : c[1]] = [True] * (c[1] - c[0])
        hits: dict[int, list[int]] = {}
        for t in range(n):
            if not covered[t]:
                for idx, pos in self.anchors.get(toks[t][0], ()):
                    hits.setdefault(idx, []).append(t - pos)
        if not hits:
            return cands
        cum = [0]
        for tok in toks:
            cum.append(cum[-1] + len(tok[0]) + 1)
        options = []
        for idx, origins in hits.items():
            length, joined, value, needed = self.long[idx]
            if len(origins) < needed:
                continue
            lo, hi = len(joined) * _FUZZY_MIN_SIMILARITY, len(joined) / _FUZZY_MIN_SIMILARITY
            for origin in set(origins):
                for start in range(max(0, origin - 1), min(n, origin + 2)):
                    for end in range(start + max(1, length - 1), min(n, start + length + 1) + 1):
                        if not lo <= cum[end] - cum[start] - 1 <= hi or any(covered[start:end]):
                            continue
                        text = " ".join(tok[0] for tok in toks[start:end])
                        score = Levenshtein.normalized_similarity(
                            text, joined, score_cutoff=_FUZZY_MIN_SIMILARITY
                        )
                        if score:
                            options.append(((len(joined), score), start, end, value))
        found = []
        for _, start, end, value in sorted(options, key=lambda o: o[0], reverse=True):
            if not any(covered[start:end]):
                found.append((start, end, value, ANY))
                covered[start:end] = [True] * (end - start)
        return sorted(cands + found, key=lambda c: c[0]) if found else cands


def _longest(
    trie: dict[str, Any], toks: list[_Tok], i: int
) -> tuple[int, tuple[object, str]] | None:
    """Longest alias in ``trie`` starting at token ``i``: (end token, (value, mode))."""
    node: dict[str, Any] = trie
    k, best = i, None
    while k < len(toks):
        child: dict[str, Any] | None = node.get(toks[k][0])
        if child is None:
            break
        node = child
        k += 1
        term = node.get("")
        if term is not None:
            best = (k, term)
    return best


def _cjk_position_ok(text: str, i: int, j: int, mode: str) -> bool:
    """Position rule for a CJK alias at text[i:j]."""
    if mode == PREFIX:
        return not any(c.isalnum() for c in text[:i])
    if mode == SUFFIX:
        return not any(c.isalnum() for c in text[j:])
    return (
        mode == ANY
        or i == 0
        or j == len(text)
        or not _CJK_CHAR.match(text, i - 1)
        or not _CJK_CHAR.match(text, j)
    )


def _edge_ok(toks: list[_Tok], consumed: list[bool], i: int, j: int, _: object, mode: str) -> bool:
    """Whether tokens i..j sit at the start/end of their part once ``consumed`` is removed."""
    k = i - 1
    while k >= 0 and toks[k][3] == toks[i][3] and consumed[k]:
        k -= 1
    left = k < 0 or toks[k][3] != toks[i][3]
    k = j
    while k < len(toks) and toks[k][3] == toks[j - 1][3] and consumed[k]:
        k += 1
    right = k >= len(toks) or toks[k][3] != toks[j - 1][3]
    return left if mode == PREFIX else right if mode == SUFFIX else left or right


# ------------------------------------------------------------------ loading


def _load_forms() -> tuple[_Matcher, dict[str, LegalForm], frozenset[str]]:
    raw = _yaml_load((_DATA / "legal_forms.yml").read_text(encoding="utf-8"))
    matcher, forms, errors = _Matcher(), {}, []
    japanese = frozenset(e["code"] for e in raw["forms"] if "jp" in (e.get("countries") or ()))
    for entry in raw["forms"]:
        form = LegalForm(entry["code"], entry["class"], entry["label"])
        if form.cls not in CLASSES:
            raise ValueError(f"{form.code}: unknown class {form.cls!r}")
        if form.code in forms:
            raise ValueError(f"duplicate legal form code {form.code!r}")
        forms[form.code] = form
        for field, mode in (
            ("aliases", None),
            ("edge_aliases", EDGE),
            ("prefix_aliases", PREFIX),
            ("suffix_aliases", SUFFIX),
        ):
            for alias in entry.get(field) or ():
                try:
                    matcher.add(str(alias), form, mode)
                except ValueError as exc:
                    errors.append(f"{form.code}: {exc}")
    if errors:
        raise ValueError("legal_forms.yml: " + "; ".join(errors))
    # words that are forms on their own ("company", "gesellschaft") make poor anchors
    for tok in [t for t in matcher.anchors if (t,) in matcher.seen]:
        del matcher.anchors[tok]
    return matcher, forms, japanese


def _load_honorifics() -> tuple[_Matcher, list[str]]:
    """Prefix titles as a token trie; suffix honorifics as folded strings, longest first."""
    raw = _yaml_load((_DATA / "honorifics.yml").read_text(encoding="utf-8"))
    prefix = _Matcher()
    for title in raw["prefix"]:
        prefix.add(str(title), "title", PREFIX)
    suffixes = {_normalise(str(t))[0].rstrip(".") for t in raw["suffix"]}
    return prefix, sorted(suffixes, key=len, reverse=True)


_FORMS, _BY_CODE, _JAPANESE = _load_forms()
_PREFIX_TITLES, _SUFFIX_KEYS = _load_honorifics()

# ------------------------------------------------------------------ cleaning

_QUOTE_RE = re.compile('[«»“”„‟"‹›「」『』〝〞〟＂<>]')
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|\{\s*\}|（\s*）|【\s*】|〔\s*〕")
_BRACKETS = re.compile(r"[()\[\]{}（）【】〔〕]")
_PAIRS = {")": "(", "]": "[", "}": "{", "）": "（", "】": "【", "〕": "〔"}
_OPENERS = frozenset(_PAIRS.values())
_COMMAS = re.compile(r"\s*,(?:\s*,)+")
_SPACE_COMMA = re.compile(r"\s+(?=,)")
_EDGE_PUNCT = " ,;:-–—/&|、，・·"


def _clean(text: str) -> str:
    """Drop quotes and stray/empty brackets, collapse spaces, trim separators at the ends."""
    text = _QUOTE_RE.sub(" ", text) if _QUOTE_RE.search(text) else text
    if _BRACKETS.search(text):
        if any(text.count(o) != text.count(c) for c, o in _PAIRS.items()):
            chars, stack = list(text), []
            for i, ch in enumerate(chars):
                if ch in _OPENERS:
                    stack.append(i)
                elif stack and chars[stack[-1]] == _PAIRS.get(ch):
                    stack.pop()
                elif ch in _PAIRS:
                    chars[i] = " "
            text = "".join(" " if i in stack else ch for i, ch in enumerate(chars))
        text = _EMPTY_BRACKETS.sub(" ", _EMPTY_BRACKETS.sub(" ", text))
    text = " ".join(text.split())
    if "," in text:
        text = _SPACE_COMMA.sub("", _COMMAS.sub(",", text))
    while True:
        trimmed = text.strip(_EDGE_PUNCT)
        trimmed = trimmed[2:] if trimmed.startswith(". ") else trimmed
        trimmed = trimmed[:-2] if trimmed.endswith(" .") else trimmed
        trimmed = "" if trimmed == "." else trimmed
        if trimmed == text:
            return text
        text = trimmed


def _cut(text: str, spans: list[tuple[int, int]], where: list[tuple[int, int]] | None) -> str:
    """Replace normalised-text spans by a space in the original ``text``."""
    pieces, pos = [], 0
    for a, b in sorted(spans):
        if where is not None:
            a, b = where[a][0], where[b - 1][1]
        pieces += [text[pos : max(a, pos)], " "]
        pos = max(pos, b)
    return "".join(pieces) + text[pos:]


# ------------------------------------------------------------------- API


def find_legal_forms(text: str) -> tuple[str, list[LegalForm]]:
    """Split ``text`` into the name without legal forms and the forms found, in order.

    The name keeps the original characters (not NFKC-folded) minus the forms, with
    quotes, empty brackets and dangling separators removed and spaces collapsed.
    """
    if not text:
        return "", []
    folded, where = _normalise(text)
    hits: list[tuple[int, int, object]] = (
        _FORMS.find_cjk(folded) if _CJK_CHAR.search(folded) else []
    )
    rest = folded
    for a, b, _ in hits:  # blank CJK forms out: their neighbours stay apart, not at an edge
        rest = rest[:a] + " " * (b - a) + rest[b:]
    toks = _tokens(rest)
    for i, j, form in _FORMS.find_tokens(toks):
        end = toks[j - 1][2]
        end += bool(folded[end : end + 1]) and folded[end] in "." + _APOS
        hits.append((toks[i][1], end, form))
    if not hits:
        return _clean(text), []
    hits.sort(key=lambda h: h[0])
    name = _clean(_cut(text, [(a, b) for a, b, _ in hits], where))
    return name, [cast(LegalForm, h[2]) for h in hits]  # the matcher holds LegalForms


def strip_honorifics(text: str) -> str:
    """Drop titles before a person name (Mr, Dr, Sheikh, Lt. Gen.) and honorifics after it (様, 氏).

    Returns ``text`` unchanged when no title is found or when nothing but titles would remain.
    """
    if not text:
        return text
    folded, where = _normalise(text)
    toks = _tokens(folded)
    spans: list[tuple[int, int]] = []
    k = 0
    while k < len(toks):
        best = _longest(_PREFIX_TITLES.trie, toks, k)
        if best is None:
            break
        end = toks[best[0] - 1][2]
        spans.append((toks[k][1], end + (folded[end : end + 1] == ".")))
        k = best[0]
    floor = spans[-1][1] if spans else 0
    tail = len(folded)
    while True:
        stripped = folded[:tail].rstrip(" .,")
        key = next((key for key in _SUFFIX_KEYS if stripped.endswith(key)), None)
        start = len(stripped) - len(key) if key else -1
        if key is None or start <= floor or (key.isascii() and stripped[start - 1].isalnum()):
            break
        spans.append((start, tail))
        tail = start
    if not spans:
        return text
    name = _clean(_cut(text, spans, where))
    return name if any(c.isalnum() for c in name) else text


def compatible(a: list[LegalForm], b: list[LegalForm]) -> bool | None:
    """None if either side has no legal form; True if some pair of classes is compatible.

    Classes match themselves; ``generic_company`` matches every company class;
    ``foundation`` and ``non_profit`` match each other.
    """
    if not a or not b:
        return None
    return any((x.cls, y.cls) in _COMPATIBLE for x in a for y in b)


def is_japanese_form(form: LegalForm) -> bool:
    """Whether ``form`` is a form of Japanese law (株式会社, 有限会社, 合同会社 …)."""
    return form.code in _JAPANESE


def legal_form(code: str) -> LegalForm:
    """The legal form with canonical ``code`` (KeyError if unknown)."""
    return _BY_CODE[code]


def all_legal_forms() -> tuple[LegalForm, ...]:
    """Every legal form in data order."""
    return tuple(_BY_CODE.values())


def alias_table() -> list[tuple[str, LegalForm, str]]:
    """Every alias as written in the data, its form and its position rule."""
    return [(a, f, m) for a, f, m in _FORMS.table]  # type: ignore[misc]
