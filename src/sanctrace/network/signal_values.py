"""Dates and contact details as the signals compare them."""

from __future__ import annotations

import re
import unicodedata
from datetime import date


def parse_day(text: str | None) -> date | None:
    """A date from ISO text; partial dates take the first day of the month or year."""
    if not text:
        return None
    parts = text[:10].split("-")
    try:
        return date(
            int(parts[0]),
            int(parts[1]) if len(parts) > 1 else 1,
            int(parts[2]) if len(parts) > 2 else 1,
        )
    except (ValueError, IndexError):
        return None


def days_between(a: str | None, b: str | None) -> int | None:
    """``a - b`` in days, or None when either is missing."""
    da, db = parse_day(a), parse_day(b)
    return (da - db).days if da and db else None


def norm_address(text: str) -> str:
    key = unicodedata.normalize("NFKC", text).casefold()
    tokens = re.sub(r"[\W_]+", " ", key).split()
    # City plus postcode alone ("Izhevsk, 426008") is not an address that says anything.
    if len(tokens) < 4 or not any(t.isdigit() for t in tokens):
        return ""
    return " ".join(sorted(set(tokens)))


def norm_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return digits[-10:] if len(digits) >= 7 else ""


def norm_email(text: str) -> str:
    text = text.strip().casefold()
    return text if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) else ""


def split_values(values: list[str], pattern: str = r"[;,/]") -> list[str]:
    return [p.strip() for v in values for p in re.split(pattern, v) if p.strip()]


CONTACTS = {
    "shared_address": ("address", norm_address),
    "shared_phone": ("phone", norm_phone),
    "shared_email": ("email", norm_email),
}
