"""Publication dates of list files: what keeps loads monotonic.

A snapshot's publication date is the date its file prints (``ParseReport.version``), else the
``--version`` the user gave, else the server's ``Last-Modified`` when it was fetched. Versions
that are no date (a serial number) give none, and such a load cannot be ordered.
"""

from __future__ import annotations

import re
from datetime import date
from email.utils import parsedate_to_datetime

__all__ = ["publication_date"]

_ISO = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[T ].*)?$")
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def publication_date(text: str | None) -> str | None:
    """ISO ``YYYY-MM-DD`` of a version text or an HTTP date; None when it is not a date.
    A month alone counts as its first day."""
    if not text:
        return None
    value = text.strip()
    if m := _ISO.match(value):
        return _iso(int(m[1]), int(m[2]), int(m[3] or 1))
    if m := _US.match(value):  # OFAC prints MM/DD/YYYY
        return _iso(int(m[3]), int(m[1]), int(m[2]))
    if m := _COMPACT.match(value):
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    try:
        return parsedate_to_datetime(value).date().isoformat()  # Last-Modified
    except (TypeError, ValueError, IndexError):
        return None
