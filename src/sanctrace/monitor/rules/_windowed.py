"""What the windowed typologies (pass_through, structuring, jurisdiction_mismatch) share: their
parameters read once, and the history "as of" the event being evaluated.

The exact definitions are in docs/backtest.md; the columnar backtest (``monitor/backtest.py``)
and the Spark job compute the same findings in bulk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sanctrace.errors import BadRequest
from sanctrace.monitor.events import Event
from sanctrace.monitor.rules.base import Facts

__all__ = [
    "DEFAULT_RISK_COUNTRIES",
    "as_of",
    "asset_of",
    "decimal_param",
    "number_param",
    "thresholds_param",
]

# Comprehensively sanctioned jurisdictions, then the default high-risk ones (issue 12).
DEFAULT_RISK_COUNTRIES = ("KP", "IR", "SY", "CU", "RU", "BY")


def number_param(
    rule: str, params: Mapping[str, Any], name: str, default: float, *, integer: bool = False
) -> float:
    """A positive number parameter; ``BadRequest`` naming the rule and the parameter."""
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"rules: {rule}.{name}: {value!r} is not a number")
    if integer and int(value) != value:
        raise BadRequest(f"rules: {rule}.{name}: {value!r} is not a whole number")
    if value <= 0:
        raise BadRequest(f"rules: {rule}.{name}: {value!r} must be above 0")
    return float(value)


def decimal_param(rule: str, name: str, value: object) -> Decimal:
    """A non-negative exact decimal (a number or a decimal string)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BadRequest(f"rules: {rule}.{name}: {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadRequest(f"rules: {rule}.{name}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise BadRequest(f"rules: {rule}.{name}: {value!r} must be a number, 0 or above")
    return number


def thresholds_param(rule: str, params: Mapping[str, Any]) -> dict[str, Decimal]:
    """``thresholds``: {asset or currency (any case): amount in its usual unit} → upper keys."""
    raw = params.get("thresholds", {})
    if not isinstance(raw, Mapping):
        raise BadRequest(f"rules: {rule}.thresholds: a mapping of asset to amount")
    found = {
        str(k).strip().upper(): decimal_param(rule, f"thresholds.{k}", v) for k, v in raw.items()
    }
    for asset, value in found.items():
        if value <= 0:
            raise BadRequest(f"rules: {rule}.thresholds.{asset}: must be above 0")
    return found


def asset_of(event: Event) -> str | None:
    """The asset (withdrawals, deposits) or currency (fiat) in upper case."""
    if event.type in ("deposit", "withdrawal"):
        return str(getattr(event, "asset", "")).upper()
    if event.type in ("fiat_in", "fiat_out"):
        return str(getattr(event, "currency", "")).upper()
    return None


def as_of(
    facts: Facts,
    event: Event,
    *,
    types: Sequence[str],
    since: datetime | None = None,
) -> list[Event]:
    """The customer's events of ``types`` from ``since`` up to and including ``event``, in
    stored order. Events stored after it are left out, so a rule sees what it would have seen
    when the event arrived (the backtest replays in that order)."""
    found = facts.history(event.customer_id, types=types, since=since, until=event.time)
    for i, e in enumerate(found):
        if e.event_id == event.event_id:
            return list(found[: i + 1])
    # Not stored (yet): everything up to its time, then the event itself.
    return [e for e in found if e.time <= event.time] + ([event] if event.type in types else [])


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def days(value: float) -> timedelta:
    return timedelta(days=value)
