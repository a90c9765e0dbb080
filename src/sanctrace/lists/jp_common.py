"""Helpers shared by the Japanese list parsers (MOF workbook, METI end-user lists).

Japanese dates (era or Western, full-width digits), script tests for Japanese text,
header normalisation, and the few country names both lists print.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from sanctrace.countries import COUNTRIES
from sanctrace.lists.dates import iso_date

# Era name (and its one-letter abbreviation) -> Western year of era year 1.
ERAS: dict[str, int] = {
    "令和": 2019,
    "R": 2019,
    "平成": 1989,
    "H": 1989,
    "昭和": 1926,
    "S": 1926,
    "大正": 1912,
    "T": 1912,
    "明治": 1868,
    "M": 1868,
}

UNKNOWN_MARKERS = ("不明", "不詳", "unknown", "ー", "－", "-", "―", "—", "なし", "N/A")

_ERA_NAMES = "|".join(sorted(ERAS, key=len, reverse=True))
# 令和4年3月8日, 平成元年8月5日, R4.3.8, H26年8月, 昭和27年
_ERA_DATE = re.compile(
    rf"(?<![A-Za-z])({_ERA_NAMES})\s*(元|\d{{1,2}})\s*(?:年|[./])\s*"
    r"(?:(\d{1,2})\s*(?:月|[./])?\s*(?:(\d{1,2})\s*日?)?)?"
)
# 1952年10月7日, 1952年10月, 1952年, 1952/10/7, 1952-10-07, 1952.10.7
_WEST_DATE = re.compile(
    r"(?<!\d)(\d{4})\s*(?:年(?!代)|[./-](?=\s*\d))\s*"
    r"(?:(\d{1,2})\s*(?:月|[./-](?=\s*\d))?\s*(?:(\d{1,2})\s*日?)?)?(?!\d)"
)

_JA_CHAR = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f々〆ヵヶ]"
)
_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")


def nfkc(text: str) -> str:
    """NFKC-normalised text: full-width letters, digits and colons become ASCII."""
    return unicodedata.normalize("NFKC", text)


def squash(text: str) -> str:
    """Header key: NFKC, no whitespace at all, lower case."""
    return "".join(nfkc(text).split()).lower()


def has_japanese(text: str) -> bool:
    """True when ``text`` holds kana or kanji."""
    return bool(_JA_CHAR.search(text))


def has_kana(text: str) -> bool:
    return bool(_KANA.search(text))


def is_unknown(text: str) -> bool:
    """True for the cells that mean "unknown" or "none" (不明, 不詳, a lone dash …)."""
    value = nfkc(text).strip()
    return not value or value in UNKNOWN_MARKERS or value.lower() in ("unknown", "n/a")


def parse_jp_dates(value: object) -> list[str]:
    """Every date in a cell, as ISO text, in order of appearance.

    Accepts ``date``/``datetime`` cells, Japanese eras (令和4年3月8日, 平成元年, R4.3.8),
    Western dates (1952年10月7日, 1952年, 1952/10/7) and several per cell
    (``1952年10月7日又は1953年``). 不明 and anything unparseable give ``[]``.
    """
    if value is None:
        return []
    if isinstance(value, datetime):
        return [value.date().isoformat()]
    if isinstance(value, date):
        return [value.isoformat()]
    if isinstance(value, int | float) and not isinstance(value, bool):
        year = int(value)
        return [str(year)] if 1800 <= year <= 2100 and year == value else []
    text = nfkc(str(value))
    if is_unknown(text):
        return []
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _ERA_DATE.finditer(text):
        era, year_text, month, day = m.groups()
        year = ERAS[era] + (1 if year_text == "元" else int(year_text)) - 1
        iso = iso_date(year, int(month) if month else None, int(day) if day else None)
        if iso:
            found.append((m.start(), iso))
            taken.append(m.span())
    for m in _WEST_DATE.finditer(text):
        if any(start <= m.start() < end for start, end in taken):
            continue
        west_year, month, day = m.groups()
        iso = iso_date(int(west_year), int(month) if month else None, int(day) if day else None)
        if iso and 1800 <= int(west_year) <= 2100:
            found.append((m.start(), iso))
    values: list[str] = []
    for _, iso in sorted(found):
        if iso not in values:
            values.append(iso)
    return values


def parse_jp_date(value: object) -> str | None:
    """The first date of a cell (see ``parse_jp_dates``), or None."""
    values = parse_jp_dates(value)
    return values[0] if values else None


_EN_COUNTRY = re.compile(
    r"\b("
    + "|".join(re.escape(k) for k in sorted(COUNTRIES, key=len, reverse=True) if k.isascii())
    + r")\b",
    re.IGNORECASE,
)


def last_country_in(text: str) -> str | None:
    """ISO code of the last English country name in an address, or None."""
    code = None
    for m in _EN_COUNTRY.finditer(text):
        code = COUNTRIES[m.group(1).lower()]
    if code is None and re.search(r"(?:\d|\b)RU\.?\s*$", text):
        code = "ru"
    return code
