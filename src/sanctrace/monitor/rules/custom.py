"""Custom rules: CEL expressions (Google's Common Expression Language, through ``cel-python``).

CEL is side-effect free and not Turing-complete: an expression can read the variables it is
given and nothing else, and Python's ``eval`` is never used. The variables (docs/monitoring.md):

* ``event`` — the event as JSON (amounts are decimal strings, as sent);
* ``amount`` — the event's amount as a double (0.0 when it has none);
* ``customer`` — the customer's latest ``customer`` record as JSON ({} when none);
* ``ip_country`` — the country of the event's IP (``""`` when none or unknown);
* ``agg`` — the customer's activity before and including the event:
  ``withdrawals_24h``, ``withdrawals_7d``, ``deposits_24h``, ``deposits_7d`` each
  ``{count, sum, assets}`` (``sum`` a double over the event's asset, or over all when the event has none;
  ``count`` over all assets), ``logins_24h`` ``{count}``, ``fiat_out_24h`` / ``fiat_in_24h``
  ``{count, sum}`` (``sum`` in the event's currency).

Aggregates and the customer are read only when the expression names them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from sanctrace.errors import BadRequest
from sanctrace.monitor.events import Event
from sanctrace.monitor.rules.base import Facts, Finding, Rule, RuleConfig
from sanctrace.monitor.rules.config import CustomConfig

__all__ = ["CustomRule", "activation", "compile_custom"]

_ENV = celpy.Environment()
_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}


class CustomRule(Rule):
    """A rule from the rules file's ``custom`` list."""

    id: ClassVar[str] = "custom"
    event_types: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: RuleConfig, custom: CustomConfig, program: Any) -> None:
        super().__init__(config)
        self.custom = custom
        self.program = program
        self.wants = {
            name
            for name in ("agg", "customer", "ip_country")
            if re.search(rf"\b{name}\b", custom.expression)
        }

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        data = activation(event, facts, self.wants)
        try:
            result = self.program.evaluate(json_to_cel(data))
        except CELEvalError as exc:
            raise ValueError(f"expression failed on {event.event_id}: {exc.args[0]}") from None
        if not isinstance(result, celtypes.BoolType):
            raise ValueError(
                f"expression gave {type(result).__name__} {result!r}, not true or false"
            )
        if not result:
            return []
        return [
            self.finding(
                subject=event.customer_id,
                summary=self.custom.explanation_en,
                summary_ja=self.custom.explanation_ja,
                evidence={
                    "expression": self.custom.expression,
                    "event_id": event.event_id,
                    **({"agg": data["agg"]} if "agg" in data else {}),
                    **({"ip_country": data["ip_country"]} if "ip_country" in data else {}),
                },
                key=(event.customer_id, event.event_id),
            )
        ]


def compile_custom(custom: CustomConfig, file: str, at: str) -> CustomRule:
    """The rule for one custom entry; a bad expression is a ``BadRequest`` naming the key."""
    try:
        program = _ENV.program(_ENV.compile(custom.expression))
    except Exception as exc:  # cel-python raises parse errors of several kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadRequest(f"{file}: {at}.expression: not a valid CEL expression ({first})") from None
    rule_class = type(
        f"Custom_{custom.id}",
        (CustomRule,),
        {"id": custom.id, "event_types": frozenset(custom.events)},
    )
    config = RuleConfig(
        id=custom.id, enabled=custom.enabled, severity=custom.severity, action=custom.action
    )
    return rule_class(config, custom, program)


def activation(event: Event, facts: Facts, wants: set[str]) -> dict[str, Any]:
    """The variables an expression sees for ``event`` (see the module docstring)."""
    record = event.model_dump(mode="json")
    amount = getattr(event, "amount", None)
    data: dict[str, Any] = {"event": record, "amount": float(Decimal(amount)) if amount else 0.0}
    if "customer" in wants:
        customer = facts.customer(event.customer_id)
        data["customer"] = customer.model_dump(mode="json") if customer is not None else {}
    if "ip_country" in wants:
        ip = getattr(event, "ip", None)
        found = facts.ip_country(str(ip)) if ip is not None else None
        data["ip_country"] = found.country if found is not None else ""
    if "agg" in wants:
        data["agg"] = _aggregates(event, facts)
    return data


def _aggregates(event: Event, facts: Facts) -> dict[str, Any]:
    since = event.time - max(_WINDOWS.values())
    past = facts.history(
        event.customer_id,
        types=("deposit", "withdrawal", "login", "fiat_in", "fiat_out"),
        since=since,
        until=event.time,
    )
    # The event itself counts once, stored yet or not.
    rows = [e for e in past if e.event_id != event.event_id] + [event]
    unit = getattr(event, "asset", None) or getattr(event, "currency", None)
    agg: dict[str, Any] = {}
    for kind in ("withdrawal", "deposit", "fiat_out", "fiat_in", "login"):
        for name, span in _WINDOWS.items():
            if kind in ("fiat_out", "fiat_in", "login") and name != "24h":
                continue
            within = [e for e in rows if e.type == kind and e.time >= event.time - span]
            key = (
                f"{kind}s_{name}"
                if kind in ("withdrawal", "deposit", "login")
                else f"{kind}_{name}"
            )
            if kind == "login":
                agg[key] = {"count": len(within)}
                continue
            total = Decimal(0)
            assets = set()
            for e in within:
                own = getattr(e, "asset", None) or getattr(e, "currency", None)
                assets.add(own)
                if unit is None or own == unit:
                    total += Decimal(getattr(e, "amount", "0"))
            agg[key] = {
                "count": len(within),
                "sum": float(total),
                "assets": sorted(a for a in assets if a),
            }
    return agg
