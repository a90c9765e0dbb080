"""Shareholdings as intervals: exact percentages, UK PSC bands and unknown shares.

A share is a closed or half-open interval of percent ``[low, high]``. Exact shares have
``low == high``; a missing percentage is the whole range ``[0, 100]``; a band such as "more
than 25% but not more than 50%" is ``(25, 50]`` (``low_open``). Values are percent, never
fractions: ``"0.6"`` is 0.6 %, because registries do publish sub-percent stakes and a
silent ×100 would turn them into majorities.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sanctrace.errors import SanctraceError

# Tolerance for comparing sums of floating-point percentages.
EPS = 1e-9


class ShareError(SanctraceError):
    """A percentage that cannot be a share (over 100, negative, unreadable)."""


@dataclass(frozen=True, slots=True)
class Share:
    """Bounds of a holding in percent; ``low_open``/``high_open`` mark strict bounds."""

    low: float
    high: float
    text: str
    low_open: bool = False
    high_open: bool = False
    invalid: bool = False  # the given value could not be read: counted as unknown

    @property
    def exact(self) -> bool:
        return self.low == self.high and not (self.low_open or self.high_open)

    @property
    def unknown(self) -> bool:
        return self.low == 0 and self.high == 100

    def label(self) -> str:
        """Human form: ``51%``, ``(25%, 50%]``, ``unknown``, ``unknown (invalid: '-5')``."""
        if self.invalid:
            return f"unknown (invalid: {self.text!r})"
        if self.exact:
            return f"{_num(self.low)}%"
        if self.unknown and not self.low_open:
            return "unknown"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{_num(self.low)}%, {_num(self.high)}%{right}"

    def to_dict(self) -> dict[str, float | str]:
        return {"low": self.low, "high": self.high, "text": self.text, "label": self.label()}

    def __add__(self, other: Share) -> Share:
        return total([self, other])


UNKNOWN = Share(0.0, 100.0, "")


def _num(value: float) -> str:
    return f"{value:g}"


def total(shares: Iterable[Share]) -> Share:
    """Bounds of the sum of several holdings (capped at 100, since no one holds more)."""
    low = high = 0.0
    low_open = high_open = False
    parts: list[str] = []
    for share in shares:
        low += share.low
        high += share.high
        low_open = low_open or share.low_open
        high_open = high_open or share.high_open
        parts.append(share.text or share.label())
    if high >= 100 - EPS:
        high, high_open = 100.0, False
    if low >= 100 - EPS:
        low, low_open = 100.0, False
    return Share(low, high, " + ".join(parts), low_open, high_open)


def same_pair(shares: list[Share]) -> Share:
    """Bounds for several records of one owner holding one asset.

    They may restate one holding (two sources) or be separate blocks (two share classes):
    the largest lower bound and the capped sum of upper bounds hold in both readings.
    """
    if len(shares) == 1:
        return shares[0]
    best = max(shares, key=lambda s: (s.low, s.low_open))
    summed = total(shares)
    return Share(
        best.low,
        summed.high,
        " | ".join(s.text or s.label() for s in shares),
        best.low_open,
        summed.high_open,
    )


# Roles that state a share when no percentage is given. A "subsidiary" or "parent" link
# does not: a subsidiary can be held through voting agreements or board control with a
# minority stake, so it stays [0, 100] (and graph.py also records it as control).
_ROLE_SHARES: tuple[tuple[re.Pattern[str], Share], ...] = (
    (re.compile(r"wholly[\s-]*owned|sole (?:owner|shareholder|member)"), Share(100.0, 100.0, "")),
    (re.compile(r"\bmajority\b"), Share(50.0, 100.0, "", low_open=True)),
    (re.compile(r"\bminority\b"), Share(0.0, 50.0, "", high_open=True)),
)

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_PCT = _NUMBER + r"\s*(?:%|percent|per cent|pct)?"
_EXACT = re.compile(r"^" + _PCT + r"$")
_RANGE = re.compile(r"^" + _PCT + r"\s*(?:-|–|—|to|\.\.)\s*" + _PCT + r"$")
# UK PSC nature-of-control codes: ownership-of-shares-25-to-50-percent[-as-trust|-as-firm],
# voting-rights-50-to-75-percent, ...-75-to-100-percent.
_PSC_CODE = re.compile(
    r"(?:ownership-of-shares|voting-rights)-(\d+)-to-(\d+)-percent(?:-as-[a-z-]+)?"
    r"|(?:ownership-of-shares|voting-rights)-more-than-(\d+)-percent(?:-as-[a-z-]+)?"
)
_MORE = r"(?:more than|over|above|greater than|exceeding|>)"
_AT_LEAST = r"(?:at least|not less than|minimum|>=|≥)"
_LESS = r"(?:less than|under|below|<)"
_AT_MOST = r"(?:not more than|up to|at most|maximum|<=|≤)"
_LOWER = re.compile(r"(?<!not )(" + _MORE + "|" + _AT_LEAST + r")\s*" + _PCT)
_UPPER = re.compile(r"(?<!not )(" + _LESS + "|" + _AT_MOST + r")\s*" + _PCT)
_OR_MORE = re.compile(r"^" + _PCT + r"\s*(?:or more|and (?:above|over)|\+)$")
_OR_LESS = re.compile(r"^" + _PCT + r"\s*(?:or less|and below)$")
_UNKNOWN = {"", "?", "-", "n/a", "na", "unknown", "none", "not known", "undisclosed"}


def _pct(text: str, raw: str) -> float:
    value = float(text.replace(",", "."))
    if value > 100 + EPS:
        raise ShareError(f"{raw!r} is over 100%")
    return min(value, 100.0)


def parse_share(value: str | float | int | None, role: str | None = None) -> Share:
    """The bounds a percentage, range or band denotes; missing means unknown ([0, 100]).

    A missing value with a role that states a share ("wholly owned", "majority", "minority")
    takes that role's bounds; other roles ("subsidiary of", "parent", "shareholder") leave it
    unknown. Raises ``ShareError`` for a value over 100, a negative value, or unreadable text.
    """
    if isinstance(value, bool):
        raise ShareError(f"{value!r} is not a percentage")
    if isinstance(value, int | float):
        if value != value:  # NaN: a spreadsheet's empty cell
            return _from_role(role)
        if value < 0:
            raise ShareError(f"{value:g} is negative")
        if value > 100 + EPS:
            raise ShareError(f"{value:g} is over 100%")
        return Share(float(value), float(value), f"{value:g}")
    raw = " ".join(str(value or "").split())
    text = raw.casefold()
    if text in _UNKNOWN:
        return _from_role(role)
    if text.startswith("-") and re.match(r"^-\s*\d", text):
        raise ShareError(f"{raw!r} is negative")
    if m := _EXACT.match(text):
        v = _pct(m.group(1), raw)
        return Share(v, v, raw)
    if m := _RANGE.match(text):
        lo, hi = _pct(m.group(1), raw), _pct(m.group(2), raw)
        if lo > hi:
            raise ShareError(f"{raw!r}: lower bound above upper bound")
        # PSC "25-50" ranges mean "more than 25, not more than 50"; a plain numeric range
        # is read as closed, which only widens the bounds.
        return Share(lo, hi, raw)
    if m := _PSC_CODE.search(text):
        if m.group(1):
            lo, hi = float(m.group(1)), float(m.group(2))
            # PSC: 25-50 is (25, 50]; 50-75 is (50, 75); 75-100 is [75, 100].
            if lo >= 75:
                return Share(lo, min(hi, 100.0), raw)
            return Share(lo, hi, raw, low_open=True, high_open=lo >= 50)
        return Share(float(m.group(3)), 100.0, raw, low_open=True)
    if m := _OR_MORE.match(text):
        return Share(_pct(m.group(1), raw), 100.0, raw)
    if m := _OR_LESS.match(text):
        return Share(0.0, _pct(m.group(1), raw), raw)
    lower = _LOWER.search(text)
    upper = _UPPER.search(text)
    if lower or upper:
        lo, lo_open, hi, hi_open = 0.0, False, 100.0, False
        if lower:
            lo = _pct(lower.group(2), raw)
            lo_open = re.fullmatch(_MORE, lower.group(1)) is not None
        if upper:
            hi = _pct(upper.group(2), raw)
            hi_open = re.fullmatch(_LESS, upper.group(1)) is not None
        if lo > hi:
            raise ShareError(f"{raw!r}: lower bound above upper bound")
        return Share(lo, hi, raw, lo_open, hi_open)
    raise ShareError(f"{raw!r} is not a percentage, range or band")


def share_or_unknown(
    value: str | float | int | None, role: str | None = None
) -> tuple[Share, ShareError | None]:
    """``parse_share``, except that a value that cannot be a share (negative, over 100,
    unreadable, NaN) gives the unknown share ``[0, 100]`` marked ``invalid`` and the error.

    Bad data must never clear anyone: dropping the holding would hide the owner, while the
    unknown share keeps the owner in the 50% rule's upper bound (possibly blocked)."""
    if isinstance(value, float) and value != value:
        return Share(0.0, 100.0, "NaN", invalid=True), ShareError("NaN is not a percentage")
    try:
        return parse_share(value, role), None
    except ShareError as exc:
        return Share(0.0, 100.0, str(value), invalid=True), exc


def _from_role(role: str | None) -> Share:
    if role:
        key = role.casefold()
        for pattern, share in _ROLE_SHARES:
            if pattern.search(key):
                return Share(share.low, share.high, f"({role})", share.low_open, share.high_open)
    return UNKNOWN
