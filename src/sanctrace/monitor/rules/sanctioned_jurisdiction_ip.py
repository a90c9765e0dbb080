"""``sanctioned_jurisdiction_ip``: a login or withdrawal from a sanctioned country's IP space.

An IP registered to a comprehensively sanctioned country (``sanctioned``, default KP IR SY CU)
gives the rule's configured action and severity (hold); one in ``high_risk`` (default RU BY)
gives ``high_risk_action`` / ``high_risk_severity`` (alert): one rule, two tiers, so the action
of each finding comes from its tier. The evidence names the IP database and its date.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from sanctrace.countries import COUNTRIES, country_code
from sanctrace.monitor.events import Event, LoginEvent, WithdrawalEvent
from sanctrace.monitor.rules.base import Action, Facts, Finding, Rule, Severity
from sanctrace.monitor.rules.config import ParamError

__all__ = ["SanctionedJurisdictionIp"]


class SanctionedJurisdictionIp(Rule):
    id = "sanctioned_jurisdiction_ip"
    event_types: ClassVar[frozenset[str]] = frozenset({"login", "withdrawal"})

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        for key in ("sanctioned", "high_risk"):
            for i, code in enumerate(params.get(key, [])):
                # A two-letter code (KP), or a country name the project knows (Iran).
                known = code.strip().isalpha() and len(code.strip()) == 2 and code.upper() != "XX"
                if not known and code.strip().lower() not in COUNTRIES:
                    raise ParamError(f"{key}[{i}]", f"{code!r} is not a country code")
        if params.get("high_risk_action", "alert") not in [str(a) for a in Action]:
            raise ParamError("high_risk_action", "must be alert, hold or block")
        if params.get("high_risk_severity", "medium") not in [str(s) for s in Severity]:
            raise ParamError("high_risk_severity", "must be low, medium, high or critical")

    def _codes(self, key: str) -> set[str]:
        return {str(country_code(c) or c).upper() for c in self.params.get(key, [])}

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        assert isinstance(event, LoginEvent | WithdrawalEvent)
        if event.ip is None:
            return []
        located = facts.ip_country(str(event.ip))
        if located is None:
            return []
        what, what_ja = (
            ("login", "ログイン")
            if isinstance(event, LoginEvent)
            else ("withdrawal request", "出金依頼")
        )
        evidence = {
            "ip": located.ip,
            "country": located.country,
            "database": located.database,
            "database_date": located.database_date.isoformat(),
        }
        if located.country in self._codes("sanctioned"):
            key, tier, tier_ja = (
                "sanctioned",
                "a comprehensively sanctioned country",
                "包括的制裁対象国",
            )
            action, severity = self.config.action, self.config.severity
        elif located.country in self._codes("high_risk"):
            key, tier, tier_ja = "high_risk", "a high-risk country", "高リスク国"
            action = self.params.get("high_risk_action", "alert")
            severity = self.params.get("high_risk_severity", "medium")
        else:
            return []
        finding = self.finding(
            subject=located.ip,
            summary=(
                f"The {what} came from {located.ip}, registered to {located.country} ({tier}) "
                f"per {located.database} of {located.database_date.isoformat()}."
            ),
            summary_ja=(
                f"{what_ja}の接続元 {located.ip} は{tier_ja}（{located.country}）に割り当てられた"
                f"IPアドレスです（{located.database}、{located.database_date.isoformat()} 時点）。"
            ),
            evidence={**evidence, "tier": key},
            key=(event.customer_id, located.country, located.ip),
        )
        # The tier decides the action and severity, not only the rule's configured ones.
        return [replace(finding, action=str(action), severity=str(severity))]
