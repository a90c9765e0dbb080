"""Dates as customers and KYB files write them, to ISO text, or refused with a reason.

A birth or incorporation date arrives as ISO (``1988-05-05``, ``1988-05``, ``1988``), compact
(``19880505``), as a Western date written the Japanese way (``1988年5月5日``, ``1988/5/5``) or in the
Japanese era form (``昭和63年5月5日``, ``S63.5.5``, ``平成元年``, ``R2.1.1``). Each becomes
ISO text; anything else raises ``DateError`` saying why, so a date is never dropped
silently. Day-first and month-first forms (``05/06/1988``) are refused: they are ambiguous.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date

from sanctrace.errors import BadRequest

__all__ = ["ERAS", "DateError", "customer_date", "parse_customer_date", "readable_date"]


class DateError(ValueError):
    """A date that cannot be read; the message says why, in words an analyst can act on."""


# Era: (name, one-letter abbreviation, first day, last day or None).
ERAS: tuple[tuple[str, str, date, date | None], ...] = (
    ("令和", "R", date(2019, 5, 1), None),
    ("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    ("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    ("大正", "T", date(1912, 7, 30), date(1926, 12, 25)),
    ("明治", "M", date(1868, 1, 25), date(1912, 7, 30)),
)
_BY_KEY = {key: era for era in ERAS for key in (era[0], era[1])}

_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")  # 19880505, as registers export it
# 1988年5月5日, 1988年5月, 1988年, 1988/5/5, 1988.5.5, 1988/05
_WESTERN = re.compile(
    r"(\d{4})\s*(?:年|[./])\s*(?:(\d{1,2})\s*(?:月|[./])?\s*(?:(\d{1,2})\s*日?)?)?"
)
# 昭和63年5月5日, 平成元年, S63.5.5, R2/1/1, H1年1月8日
_ERA = re.compile(
    r"(令和|平成|昭和|大正|明治|[RHSTM])\.?\s*(元|\d{1,2})\s*(?:年|[./])?\s*"
    r"(?:(\d{1,2})\s*(?:月|[./])?\s*(?:(\d{1,2})\s*日?)?)?"
)


def _iso(year: int, month: int | None, day: int | None, text: str) -> str:
    try:
        if day is not None and month is not None:
            return date(year, month, day).isoformat()
        if month is not None:
            date(year, month, 1)
            return f"{year:04d}-{month:02d}"
        date(year, 1, 1)
    except ValueError:
        raise DateError(f"{text!r} is not a real date") from None
    return f"{year:04d}"


def _era_date(m: re.Match[str], text: str) -> str:
    name, abbr, first, last = _BY_KEY[m.group(1)]
    era_year = 1 if m.group(2) == "元" else int(m.group(2))
    month = int(m.group(3)) if m.group(3) else None
    day = int(m.group(4)) if m.group(4) else None
    if era_year < 1:
        raise DateError(f"{text!r}: an era year starts at 1 (元年)")
    year = first.year + era_year - 1
    iso = _iso(year, month, day, text)
    # The era must have been current then: 昭和64年1月8日 was already 平成元年.
    start = date(year, month or 1, day or 1)
    end = date(year, month or 12, day or calendar.monthrange(year, month or 12)[1])
    if end < first or (last is not None and start > last):
        span = f"{first.isoformat()} to {last.isoformat() if last else 'today'}"
        raise DateError(f"{text!r} is outside the {name} ({abbr}) era ({span})")
    return iso


def customer_date(text: str) -> str:
    """ISO text (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``) for a date in any form above.

    Raises ``DateError`` when the text is no date, not a real one (2月30日), outside its era
    (平成32年) or ambiguous (05/06/1988).
    """
    value = unicodedata.normalize("NFKC", text).strip().upper()
    if not value:
        raise DateError("empty date")
    if m := (_ISO.fullmatch(value) or _COMPACT.fullmatch(value)):
        parts = [int(p) if p else None for p in m.groups()]
        return _iso(parts[0] or 0, parts[1], parts[2], text)
    if m := _WESTERN.fullmatch(value):
        parts = [int(p) if p else None for p in m.groups()]
        return _iso(parts[0] or 0, parts[1], parts[2], text)
    if m := _ERA.fullmatch(value):
        return _era_date(m, text)
    if re.fullmatch(r"\d{1,2}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{4}", value):
        raise DateError(f"{text!r}: day and month order is ambiguous; write YYYY-MM-DD")
    raise DateError(f"{text!r} is not a date (YYYY-MM-DD, 1988年5月5日, 昭和63年5月5日 or S63.5.5)")


def parse_customer_date(text: str | None, field: str = "birth_date", where: str = "") -> str | None:
    """``customer_date`` for a request or file field: None for an empty value, ``BadRequest``
    naming ``where`` (``file.csv:line 3``) and the field for a date that cannot be read."""
    if text is None or not text.strip():
        return None
    try:
        return customer_date(text)
    except DateError as exc:
        raise BadRequest(f"{where + ': ' if where else ''}{field}: {exc}") from None


def readable_date(text: str | None) -> tuple[str | None, str | None]:
    """(ISO text, None) for a date given in any form above, (None, a note saying why it is not
    used) for one that cannot be read: for the screen's evidence, which must not drop a date
    without a word. ISO text passes through untouched."""
    if not text or _ISO.fullmatch(text):
        return text, None
    try:
        return customer_date(text), None
    except DateError as exc:
        return None, f"birth date not used: {exc}"
