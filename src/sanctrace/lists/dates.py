"""Date normalisation shared by list parsers: everything becomes ISO 8601 text.

Values are ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; a range is ``YYYY/YYYY`` (ISO interval).
Unparseable text returns nothing rather than a wrong date.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DMY = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})$")
_MY = re.compile(r"^([A-Za-z]{3})[a-z]*\.?\s+(\d{4})$")
_Y = re.compile(r"^(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_RANGE = re.compile(r"^(\d{4})\s*(?:to|-|–)\s*(\d{4})$")


def iso_date(year: int, month: int | None = None, day: int | None = None) -> str | None:
    """ISO text for a full or partial date; None when the parts are not a real date."""
    try:
        if month and day:
            return date(year, month, day).isoformat()
        if month:
            date(year, month, 1)
            return f"{year:04d}-{month:02d}"
        date(year, 1, 1)
        return f"{year:04d}"
    except (ValueError, OverflowError):
        return None


def parse_ofac_date(text: str) -> list[str]:
    """OFAC remark dates: ``01 Jan 1970``, ``Jan 1970``, ``1970``, ``circa 1970``, ``1968 to 1970``."""
    text = text.strip().rstrip(".")
    if text.lower().startswith("circa "):
        text = text[6:].strip()
    if m := _DMY.match(text):
        month = MONTHS.get(m.group(2).lower())
        value = iso_date(int(m.group(3)), month, int(m.group(1))) if month else None
        return [value] if value else []
    if m := _MY.match(text):
        month = MONTHS.get(m.group(1).lower())
        value = iso_date(int(m.group(2)), month) if month else None
        return [value] if value else []
    if m := _RANGE.match(text):
        return [f"{m.group(1)}/{m.group(2)}"]
    if m := (_Y.match(text) or _ISO.match(text)):
        parts = [int(p) for p in m.groups() if p]
        value = iso_date(*parts)
        return [value] if value else []
    return []
