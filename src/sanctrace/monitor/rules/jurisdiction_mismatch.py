"""``jurisdiction_mismatch`` (typology 9): a customer declares one country of residence while
their logins, phone or documents point to a sanctioned or high-risk one.

Definition (docs/backtest.md): on a ``login`` or ``customer`` event E of customer C, take C's
latest ``customer`` record stored up to E; its declared country R is ``residence``, else
``address_country`` (no record or no country: not checked). The countries pointing elsewhere
are: the IP countries of C's logins stored up to E with ``time >= time(E) - window_days``, the
record's ``phone_country`` and its documents' countries — those in ``sanctioned`` or
``high_risk`` other than R. The rule fires when there is at least one; the key is the
customer, R and the sorted countries, so the same mismatch seen again counts on one alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sanctrace.errors import BadRequest
from sanctrace.monitor.events import CustomerEvent, Event, LoginEvent
from sanctrace.monitor.rules._windowed import as_of, days, number_param
from sanctrace.monitor.rules.base import Facts, Finding, Rule, RuleConfig

__all__ = ["JurisdictionMismatch", "declared_country", "record_countries"]

SANCTIONED = ("KP", "IR", "SY", "CU")
HIGH_RISK = ("RU", "BY")


def _countries(rule: str, params: Mapping[str, Any], name: str, default: tuple[str, ...]):
    value = params.get(name, list(default))
    if not isinstance(value, list | tuple) or not all(
        isinstance(c, str) and len(c.strip()) == 2 and c.strip().isalpha() for c in value
    ):
        raise BadRequest(f"rules: {rule}.{name}: a list of two-letter country codes")
    return frozenset(c.strip().upper() for c in value)


def declared_country(record: CustomerEvent) -> str | None:
    """The country a customer declares living in: residence, else the address's country."""
    return record.residence or record.address_country


def record_countries(record: CustomerEvent) -> dict[str, str]:
    """{country: what points there} for the phone and the documents of a customer record."""
    found: dict[str, str] = {}
    if record.phone_country:
        found[record.phone_country] = "phone"
    for doc in record.id_documents:
        if doc.country:
            found.setdefault(doc.country, f"document {doc.type}")
    return found


class JurisdictionMismatch(Rule):
    id: ClassVar[str] = "jurisdiction_mismatch"
    event_types: ClassVar[frozenset[str]] = frozenset({"login", "customer"})

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.window_days = number_param(self.id, self.params, "window_days", 30)
        self.window = days(self.window_days)
        self.sanctioned = _countries(self.id, self.params, "sanctioned", SANCTIONED)
        self.high_risk = _countries(self.id, self.params, "high_risk", HIGH_RISK)
        self.risk = self.sanctioned | self.high_risk

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        if event.type not in self.event_types:
            return []
        seen = as_of(facts, event, types=("customer", "login"))
        record = next((e for e in reversed(seen) if isinstance(e, CustomerEvent)), None)
        declared = declared_country(record) if record is not None else None
        if record is None or declared is None:
            return []
        pointing: dict[str, list[dict[str, Any]]] = {}
        for country, what in record_countries(record).items():
            if country in self.risk and country != declared:
                pointing.setdefault(country, []).append({"signal": what})
        start = event.time - self.window
        for e in seen:
            if not isinstance(e, LoginEvent) or e.time < start:
                continue
            located = facts.ip_country(str(e.ip))
            if located is None or located.country not in self.risk:
                continue
            if located.country == declared:
                continue
            pointing.setdefault(located.country, []).append(
                {
                    "signal": "login",
                    "event_id": e.event_id,
                    "time": e.time.isoformat(),
                    "ip": str(e.ip),
                    "database": located.database,
                    "database_date": located.database_date.isoformat(),
                }
            )
        if not pointing:
            return []
        countries = sorted(pointing)
        kinds = {c: "sanctioned" if c in self.sanctioned else "high_risk" for c in countries}
        listed = ", ".join(countries)
        return [
            self.finding(
                event.customer_id,
                f"Declared residence {declared}, but logins, phone or documents point to "
                f"{listed} within {self.window_days:g} days.",
                f"申告された居住国は {declared} ですが、過去 {self.window_days:g} 日間の"
                f"ログイン、電話番号または本人確認書類が {listed}（制裁対象国・高リスク国）を"
                "示しています。",
                {
                    "declared": declared,
                    "countries": countries,
                    "kinds": kinds,
                    "signals": {c: pointing[c] for c in countries},
                    "window_days": self.window_days,
                },
                key=(event.customer_id, declared, *countries),
            )
        ]
