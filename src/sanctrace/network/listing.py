"""Which parties of an FtM file count as listed, and since when.

A party is listed when a ``Sanction`` record names it (``entity``) or its ``topics`` include
``sanction`` (OpenSanctions' tag for a sanctioned target). ``sanction.linked`` (linked to a
sanctioned party), ``debarment``, ``export.control`` and ``poi`` are not a listing. The
designation date is the earliest ``startDate`` or ``listingDate`` of its Sanction records.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

SANCTION_TOPIC = "sanction"
MAX_REASONS = 4
# The lists an exchange is usually bound by come first in a reason.
_RANK = {
    ds: i
    for i, ds in enumerate(
        (
            "us_ofac_sdn",
            "us_ofac_cons",
            "un_sc_sanctions",
            "eu_fsf",
            "gb_hmt_sanctions",
            "gb_fcdo_sanctions",
            "jp_mof_sanctions",
            "jp_meti_ru",
        )
    )
}
_ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _values(record: Mapping[str, Any], prop: str) -> list[str]:
    values = (record.get("properties") or {}).get(prop) or []
    if not isinstance(values, list):
        values = [values]
    return [str(v) for v in values if v]


def listed_from_ftm(
    records: Iterable[Mapping[str, Any]], datasets: Iterable[str] | None = None
) -> dict[str, str]:
    """Listed party id -> reason ("us_ofac_sdn RUSSIA-EO14024; eu_fsf UKR").

    ``datasets``: count only Sanction records (and topic-tagged parties) from these
    datasets, e.g. ``{"us_ofac_sdn"}``; default: any.
    """
    allowed = set(datasets) if datasets is not None else None
    reasons: dict[str, list[str]] = defaultdict(list)
    topics: dict[str, str] = {}
    for record in records:
        sets = [str(d) for d in record.get("datasets") or []]
        if allowed is not None and not allowed.intersection(sets):
            continue
        if record.get("schema") == "Sanction":
            programs = _values(record, "programId") or _values(record, "program")
            for entity in _values(record, "entity"):
                for ds in sets if allowed is None else [d for d in sets if d in allowed]:
                    text = f"{ds} {programs[0]}" if programs else ds
                    if text not in reasons[entity]:
                        reasons[entity].append(text)
        elif SANCTION_TOPIC in _values(record, "topics") and record.get("id"):
            shown = sets if allowed is None else [d for d in sets if d in allowed]
            topics[str(record["id"])] = "topic sanction (" + ", ".join(shown[:3]) + ")"
    out = {k: _reason(v) for k, v in reasons.items() if v}
    for rid, text in topics.items():
        out.setdefault(rid, text)
    return out


def _reason(texts: list[str]) -> str:
    ranked = sorted(texts, key=lambda t: (_RANK.get(t.split(" ", 1)[0], len(_RANK)), t))
    more = len(ranked) - MAX_REASONS
    return "; ".join(ranked[:MAX_REASONS]) + (f" (+{more} more)" if more > 0 else "")


def designations_from_ftm(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Party id -> the earliest designation date among the Sanction records naming it."""
    out: dict[str, str] = {}
    for record in records:
        if record.get("schema") != "Sanction":
            continue
        dates = [d[:10] for p in ("startDate", "listingDate") for d in _values(record, p)]
        dates = [d for d in dates if _ISO.match(d)]
        if not dates:
            continue
        first = min(dates)
        for entity in _values(record, "entity"):
            if entity not in out or first < out[entity]:
                out[entity] = first
    return out
