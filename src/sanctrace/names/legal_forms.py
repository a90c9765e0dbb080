"""Legal forms (OOO, LLC, 株式会社, (カ), S.A. …) and honorifics as typed tokens.

The data lives in ``data/legal_forms.yml`` and ``data/honorifics.yml``; everything is
compiled once at import. Matching rules, in short:

* Latin, Cyrillic, Greek, Arabic … forms match whole tokens, case- and
  accent-insensitively. Punctuation between tokens is ignored ("Co., Ltd." ==
  "CO LTD"), apostrophes are dropped ("Otvetstvennost'yu"), and common
  transliteration variants of Russian words fold together (-oi/-oy/-oj, shch/sch,
  ts/c, iu/yu). A dotted initialism is one token that keeps its dots: "L.L.C." and
  "S.A." match their dotted aliases, so "e.V." is not "EV" and "U.S.A." holds no "SA".
* Short forms (<= 3 letters: AO, SA, CO, AG …) and generic words (Company, Limited,
  Corporation) only count at the start or end of the name, or of a part of it
  delimited by a comma, bracket, quote or dash, after peeling other forms off.
  Some forms are prefix-only (ИП, IP, PT, カ)) or suffix-only (Tbk, (カ).
* CJK forms are substrings: bracketed ones ((株), (カ), (주)) and ones of four or more
  characters (株式会社, 有限公司) match anywhere, even glued inside a name
  ("AB株式会社CD" -> "AB CD": such words are never name content, and METI glues
  parent and subsidiary names around them). Shorter ones (会社, 公司, 合作社) need the
  start/end of the name, a separator or another script on at least one side, so
  "製造会社ミグ" keeps its 会社.

Only call ``find_legal_forms`` on organisation names: on person names the edge
rules would take "Ip" from "Ip Man".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz.distance import Levenshtein

__all__ = [
    "LegalForm",
    "alias_table",
    "all_legal_forms",
    "compatible",
    "find_legal_forms",
    "legal_form",
    "strip_honorifics",
]

COMPANY_CLASSES = frozenset(
    {"llc", "joint_stock", "partnership", "generic_company", "state_enterprise", "cooperative"}
)
CLASSES = COMPANY_CLASSES | {"sole_trader", "non_profit", "foundation"}


@dataclass(frozen=True)
class LegalForm:
    """One legal form: canonical ``code``, compatibility class ``cls``, English ``label``."""

    code: str
    cls: str
    label: str


# ----------------------------------------------------------------- text folding

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
_STRONG_RE = re.compile(
    r"[,;:()\[\]{}«»\"“”„‟‹›<>「」『』【】〔〕、，；：|–—―]|\s-\s"
)
_APOS_DEL = str.maketrans("", "", _APOS)


def _build_fold() -> dict[int, str]:
    """A 1:1 char map: lower case, no accents (Latin, Greek, Cyrillic, Armenian)."""
    table: dict[int, str] = {}
    ranges = [(0x41, 0x5B), (0xC0, 0x530), (0x1E00, 0x2000)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            ch = chr(cp)
            low = ch.lower()
            if len(low) != 1:
                low = ch
            base = "".join(c for c in unicodedata.normalize("NFD", low) if not unicodedata.combining(c))
            out = base if len(base) == 1 else low
            if out != ch:
                table[cp] = out
    for src, dst in {"ı": "i", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o",
                     "ħ": "h", "ς": "σ", "ə": "e", "Ə": "e"}.items():  # fmt: skip
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

_SKEL_CACHE: dict[str, str] = {}
_SKEL_STEPS = (("shch", "sh"), ("shh", "sh"), ("sch", "sh"), ("ye", "e"), ("j", "i"),
               ("y", "i"), ("ts", "c"), ("tc", "c"))  # fmt: skip
_SKEL_END = re.compile(r"i+$")


def _skeleton(word: str) -> str:
    """Fold transliteration variants of one long ASCII word (cached)."""
    if len(word) < 5 or not word.isascii():
        return word
    hit = _SKEL_CACHE.get(word)
    if hit is None:
        hit = word
        for a, b in _SKEL_STEPS:
            hit = hit.replace(a, b)
        hit = _SKEL_END.sub("i", hit)
        if len(_SKEL_CACHE) > 200_000:
            _SKEL_CACHE.clear()
        _SKEL_CACHE[word] = hit
    return hit


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


def _merge_letters(folded: str, toks: list[tuple[str, int, int, int]]) -> list:
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


def _is_cjk_alias(alias: str) -> bool:
    return _CJK_CHAR.search(alias) is not None


# --------------------------------------------------------------- alias matcher

ANY, EDGE, PREFIX, SUFFIX, NEAR = "any", "edge", "prefix", "suffix", "near"
_FUZZY_MIN_LETTERS = 16  # aliases at least this long are also found with typos
_FUZZY_MIN_SIMILARITY = 0.9  # normalised Levenshtein similarity of the whole form
_DATA = Path(__file__).with_name("data")


class _Matcher:
    """Token trie plus CJK substring table over aliases with position rules."""

    def __init__(self) -> None:
        self.trie: dict = {}
        self.cjk: dict[str, dict[str, tuple[object, str]]] = {}  # first char -> alias -> hit
        self.cjk_lens: dict[str, list[int]] = {}
        self.table: list[tuple[str, object, str]] = []
        self._seen: dict[object, tuple[object, str]] = {}
        # long multi-token aliases, found despite typos via an exactly-spelled anchor word
        self.long: list[tuple[int, str, object, int]] = []  # (tokens, joined, value, anchors needed)
        self.anchors: dict[str, list[tuple[int, int]]] = {}  # token -> [(long index, position)]

    def add(self, alias: str, value: object, mode: str | None) -> None:
        """Register ``alias``; ``mode`` None picks ANY/EDGE (tokens) or ANY/NEAR (CJK)."""
        folded, _ = _normalise(alias.strip())
        if _is_cjk_alias(folded):
            key: object = folded.replace(" ", "")
            if mode is None:
                mode = ANY if len(key) >= 4 or key.startswith("(") else NEAR
        else:
            key = tuple(t[0] for t in _tokens(folded))
            if not key:
                raise ValueError(f"alias {alias!r} has no letters")
            letters = sum(len(k.replace(".", "")) for k in key)
            if mode is None:
                mode = ANY if letters >= 4 and (len(key) == 1 or letters >= 5) else EDGE
        seen = self._seen.get(key)
        if seen is not None:
            if seen != (value, mode):
                raise ValueError(f"{alias!r} clashes with {seen[0]} ({seen[1]})")
            self.table.append((alias, value, mode))
            return
        self._seen[key] = (value, mode)
        self.table.append((alias, value, mode))
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
        cjk, lens_by = self.cjk, self.cjk_lens
        i, n = 0, len(folded)
        while i < n:
            table = cjk.get(folded[i])
            if table is not None:
                for ln in lens_by[folded[i]]:
                    if i + ln > n:
                        continue
                    hit = table.get(folded[i : i + ln])
                    if hit is not None and _cjk_position_ok(folded, i, i + ln, hit[1]):
                        hits.append((i, i + ln, hit[0]))
                        i += ln - 1
                        break
            i += 1
        return hits

    def find_tokens(self, toks: list[tuple[str, int, int, int]]) -> list[tuple[int, int, object]]:
        """Token alias occurrences as (first token, end token, value) after position rules."""
        n = len(toks)
        cands: list[tuple[int, int, object, str]] = []
        i = 0
        while i < n:
            best = _longest(self.trie, toks, i)
            if best is None:
                i += 1
                continue
            cands.append((i, best[0], best[1][0], best[1][1]))
            i = best[0]
        if self.anchors:
            cands = self._fuzzy(toks, cands)
        if not cands:
            return []
        consumed = [False] * n
        accepted: list[tuple[int, int, object]] = []
        pending = []
        for c in cands:
            if c[3] == ANY:
                accepted.append(c[:3])
                consumed[c[0] : c[1]] = [True] * (c[1] - c[0])
            else:
                pending.append(c)
        changed = True
        while pending and changed:
            changed = False
            for c in list(pending):
                if _edge_ok(toks, consumed, c[0], c[1], c[3]):
                    accepted.append(c[:3])
                    consumed[c[0] : c[1]] = [True] * (c[1] - c[0])
                    pending.remove(c)
                    changed = True
        accepted.sort(key=lambda c: c[0])
        return accepted


    def _fuzzy(self, toks: list, cands: list) -> list:
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


def _longest(trie: dict, toks: list, i: int) -> tuple[int, tuple[object, str]] | None:
    """Longest alias in ``trie`` starting at token ``i``: (end token, (value, mode))."""
    node, k, best = trie, i, None
    while k < len(toks):
        node = node.get(toks[k][0])
        if node is None:
            break
        k += 1
        term = node.get("")
        if term is not None:
            best = (k, term)
    return best


def _cjk_position_ok(text: str, i: int, j: int, mode: str) -> bool:
    if mode == ANY:
        return True
    at_start = not any(c.isalnum() for c in text[:i])
    at_end = not any(c.isalnum() for c in text[j:])
    if mode == PREFIX:
        return at_start
    if mode == SUFFIX:
        return at_end
    left = i == 0 or _CJK_CHAR.match(text, i - 1) is None
    right = j == len(text) or _CJK_CHAR.match(text, j) is None
    return left or right


def _edge_ok(toks: list, consumed: list[bool], i: int, j: int, mode: str) -> bool:
    part_i, part_j = toks[i][3], toks[j - 1][3]
    k = i - 1
    while k >= 0 and toks[k][3] == part_i and consumed[k]:
        k -= 1
    left = k < 0 or toks[k][3] != part_i
    k = j
    while k < len(toks) and toks[k][3] == part_j and consumed[k]:
        k += 1
    right = k >= len(toks) or toks[k][3] != part_j
    if mode == PREFIX:
        return left
    if mode == SUFFIX:
        return right
    return left or right


# ------------------------------------------------------------------ loading


def _load_forms() -> tuple[_Matcher, dict[str, LegalForm]]:
    raw = yaml.safe_load((_DATA / "legal_forms.yml").read_text(encoding="utf-8"))
    matcher, forms, errors = _Matcher(), {}, []
    for entry in raw["forms"]:
        form = LegalForm(entry["code"], entry["class"], entry["label"])
        if form.cls not in CLASSES:
            raise ValueError(f"{form.code}: unknown class {form.cls!r}")
        if form.code in forms:
            raise ValueError(f"duplicate legal form code {form.code!r}")
        forms[form.code] = form
        for field, mode in (("aliases", None), ("edge_aliases", EDGE),
                            ("prefix_aliases", PREFIX), ("suffix_aliases", SUFFIX)):  # fmt: skip
            for alias in entry.get(field) or ():
                try:
                    matcher.add(str(alias), form, mode)
                except ValueError as exc:
                    errors.append(f"{form.code}: {exc}")
    if errors:
        raise ValueError("legal_forms.yml: " + "; ".join(errors))
    # words that are forms on their own ("company", "gesellschaft") make poor anchors
    for tok in [t for t in matcher.anchors if (t,) in matcher._seen]:
        del matcher.anchors[tok]
    return matcher, forms


def _load_honorifics() -> tuple[_Matcher, list[object]]:
    raw = yaml.safe_load((_DATA / "honorifics.yml").read_text(encoding="utf-8"))
    prefix, suffix = _Matcher(), _Matcher()
    for title in raw["prefix"]:
        prefix.add(str(title), "title", PREFIX)
    for title in raw["suffix"]:
        suffix.add(str(title), "title", SUFFIX)
    return prefix, sorted(suffix._seen, key=len, reverse=True)


_FORMS, _BY_CODE = _load_forms()
_PREFIX_TITLES, _SUFFIX_KEYS = _load_honorifics()

# ------------------------------------------------------------------ cleaning

_QUOTE_RE = re.compile("[«»“”„‟\"‹›「」『』〝〞〟＂<>]")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|\{\s*\}|（\s*）|【\s*】|〔\s*〕")
_BRACKETS = re.compile(r"[()\[\]{}（）【】〔〕]")
_PAIRS = {")": "(", "]": "[", "}": "{", "）": "（", "】": "【", "〕": "〔"}
_COMMAS = re.compile(r"\s*,(?:\s*,)+")
_SPACE_COMMA = re.compile(r"\s+(?=,)")
_EDGE_PUNCT = " ,;:-–—/&|、，・·"


def _clean(text: str) -> str:
    """Drop quotes and empty brackets, collapse spaces, trim separators at the ends."""
    if _QUOTE_RE.search(text):
        text = _QUOTE_RE.sub(" ", text)
    if _BRACKETS.search(text):
        if any(text.count(o) != text.count(c) for c, o in _PAIRS.items()):
            text = _drop_unbalanced(text)
        for _ in range(2):
            text = _EMPTY_BRACKETS.sub(" ", text)
    text = " ".join(text.split())
    if "," in text:
        text = _SPACE_COMMA.sub("", _COMMAS.sub(",", text))
    while True:
        trimmed = text.strip(_EDGE_PUNCT)
        if trimmed.startswith(". "):
            trimmed = trimmed[2:]
        if trimmed.endswith(" ."):
            trimmed = trimmed[:-2]
        if trimmed == ".":
            trimmed = ""
        if trimmed == text:
            return text
        text = trimmed


def _drop_unbalanced(text: str) -> str:
    """Blank brackets left without their partner (e.g. after cutting "UG (haftungsbeschränkt)")."""
    chars, stack = list(text), []
    for i, ch in enumerate(chars):
        if ch in _PAIRS.values():
            stack.append(i)
        elif ch in _PAIRS:
            if stack and chars[stack[-1]] == _PAIRS[ch]:
                stack.pop()
            else:
                chars[i] = " "
    for i in stack:
        chars[i] = " "
    return "".join(chars)


def _cut(text: str, spans: list[tuple[int, int]], where: list[tuple[int, int]] | None) -> str:
    """Remove normalised-text spans from the original ``text``."""
    if not spans:
        return text
    pieces, pos = [], 0
    for a, b in sorted(spans):
        if where is not None:
            a, b = where[a][0], where[b - 1][1]
        if a < pos:
            a = pos
        pieces.append(text[pos:a])
        pieces.append(" ")
        pos = max(pos, b)
    pieces.append(text[pos:])
    return "".join(pieces)


# ------------------------------------------------------------------- API


def find_legal_forms(text: str) -> tuple[str, list[LegalForm]]:
    """Split ``text`` into the name without legal forms and the forms found, in order.

    The name keeps the original characters (not NFKC-folded) minus the forms, with
    quotes, empty brackets and dangling separators removed and spaces collapsed.
    """
    if not text:
        return "", []
    folded, where = _normalise(text)
    hits: list[tuple[int, int, LegalForm]] = []
    cjk_hits = _FORMS.find_cjk(folded) if _CJK_CHAR.search(folded) else []
    if cjk_hits:
        hits.extend(cjk_hits)  # type: ignore[arg-type]
        chars = list(folded)
        for a, b, _ in cjk_hits:
            chars[a:b] = " " * (b - a)
        toks = _tokens("".join(chars))
    else:
        toks = _tokens(folded)
    for i, j, form in _FORMS.find_tokens(toks):
        start, end = toks[i][1], toks[j - 1][2]
        if end < len(folded) and (folded[end] == "." or folded[end] in _APOS):
            end += 1
        hits.append((start, end, form))  # type: ignore[arg-type]
    if not hits:
        return _clean(text), []
    hits.sort(key=lambda h: h[0])
    name = _clean(_cut(text, [(a, b) for a, b, _ in hits], where))
    return name, [h[2] for h in hits]


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
        if end < len(folded) and folded[end] == ".":
            end += 1
        spans.append((toks[k][1], end))
        k = best[0]
    floor = spans[-1][1] if spans else 0
    tail, changed = len(folded), True
    while changed:
        changed = False
        stripped = folded[:tail].rstrip(" .,")
        end_toks = [t for t in toks[k:] if t[2] <= len(stripped)]
        for key in _SUFFIX_KEYS:
            if isinstance(key, str):
                ok, start = stripped.endswith(key), len(stripped) - len(key)
            else:
                last = end_toks[-len(key) :]
                ok = (
                    len(last) == len(key)
                    and tuple(t[0] for t in last) == key
                    and last[-1][2] == len(stripped)
                )
                start = last[0][1] if ok else -1
            if ok and start > floor:
                spans.append((start, tail))
                tail, changed = start, True
                break
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
    return any(_classes_compatible(x.cls, y.cls) for x in a for y in b)


def _classes_compatible(p: str, q: str) -> bool:
    if p == q:
        return True
    if p == "generic_company" or q == "generic_company":
        return (q if p == "generic_company" else p) in COMPANY_CLASSES
    return {p, q} == {"foundation", "non_profit"}


def legal_form(code: str) -> LegalForm:
    """The legal form with canonical ``code`` (KeyError if unknown)."""
    return _BY_CODE[code]


def all_legal_forms() -> tuple[LegalForm, ...]:
    """Every legal form in data order."""
    return tuple(_BY_CODE.values())


def alias_table() -> list[tuple[str, LegalForm, str]]:
    """Every alias as written in the data, its form and its position rule."""
    return [(a, f, m) for a, f, m in _FORMS.table]  # type: ignore[misc]
