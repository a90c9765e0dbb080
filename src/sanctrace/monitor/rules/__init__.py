"""Monitoring rules: the built-in typologies and custom CEL rules, loaded from the rules file.

``RuleSet.load(path)`` reads the packaged ``rules.yml`` with the user's file merged over it
(``config.py``), instantiates the enabled rules (``registry.py`` imports their modules on first
use) and compiles the custom rules (``custom.py``). ``RuleSet.evaluate(event, facts)`` runs
every rule that applies; a rule that raises or lacks data gives an ``error`` finding naming
the rule and the reason, which ``decision_of`` turns into a hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sanctrace.errors import BadRequest
from sanctrace.model import Match
from sanctrace.monitor.events import EVENT_TYPES, CustomerEvent, Event, NameIn
from sanctrace.monitor.rules.base import (
    AddressFacts,
    Facts,
    Finding,
    IpCountry,
    Rule,
    RuleConfig,
    decision_of,
    evidence_key,
)
from sanctrace.monitor.rules.config import PACKAGED, EffectiveRules, ParamError, load_config
from sanctrace.monitor.rules.registry import BUILTIN, load_class

__all__ = [
    "BUILTIN",
    "PACKAGED",
    "AddressFacts",
    "EffectiveRules",
    "Facts",
    "Finding",
    "IpCountry",
    "ParamError",
    "Rule",
    "RuleConfig",
    "RuleSet",
    "decision_of",
    "error_finding",
    "evidence_key",
    "load_class",
    "load_config",
]


def error_finding(rule: Rule | str, reason: str, config: RuleConfig | None = None) -> Finding:
    """The visible result of a rule that could not be evaluated: a hold, never a pass."""
    rid = rule if isinstance(rule, str) else rule.id
    severity = (
        config.severity if config else getattr(getattr(rule, "config", None), "severity", "high")
    )
    return Finding(
        rule=rid,
        severity=str(severity),
        action="hold",
        subject=rid,
        summary=f"rule {rid} could not be evaluated: {reason}",
        summary_ja=f"ルール {rid} を評価できませんでした: {reason}",
        evidence={"error": reason},
        evidence_key=evidence_key(rid, "error", reason),
        error=True,
    )


class _Missing(Rule):
    """A configured rule whose module could not be imported: an error on every event."""

    id = "missing"
    event_types = frozenset(EVENT_TYPES)

    def __init__(self, config: RuleConfig, reason: str) -> None:
        super().__init__(config)
        self.reason = reason

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        raise ImportError(self.reason)


class _Memo:
    """Facts asked during one event's evaluation, answered once: rules ask the same things
    (the destination's screening, the deposit's exposure) and each answer costs a lookup."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.memo: dict[tuple[Any, ...], Any] = {}

    def _once(self, key: tuple[Any, ...], call: Any) -> Any:
        if key not in self.memo:
            self.memo[key] = call()
        return self.memo[key]

    def address(self, chain: str, address: str) -> AddressFacts:
        return self._once(("address", chain, address), lambda: self.facts.address(chain, address))

    def exposure(self, **kwargs: Any) -> dict[str, Any] | None:
        key = ("exposure", *sorted((k, str(v)) for k, v in kwargs.items()))
        return self._once(key, lambda: self.facts.exposure(**kwargs))

    def names(
        self,
        names: Sequence[NameIn],
        *,
        schema: str | None = None,
        birth_date: str | None = None,
        country: str | None = None,
    ) -> list[Match]:
        key = ("names", tuple(names), schema, birth_date, country)
        return self._once(
            key,
            lambda: self.facts.names(names, schema=schema, birth_date=birth_date, country=country),
        )

    def history(
        self,
        customer_id: str,
        *,
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Event]:
        key = ("history", customer_id, tuple(types), since, until)
        return self._once(
            key,
            lambda: self.facts.history(customer_id, types=types, since=since, until=until),
        )

    def customer(self, customer_id: str) -> CustomerEvent | None:
        return self._once(("customer", customer_id), lambda: self.facts.customer(customer_id))

    def ip_country(self, ip: str) -> IpCountry | None:
        return self._once(("ip", ip), lambda: self.facts.ip_country(ip))

    def snapshots(self) -> dict[str, int]:
        return self._once(("snapshots",), self.facts.snapshots)


def _set_by_user(config: EffectiveRules, rid: str) -> bool:
    return any(k.startswith(f"rules.{rid}.") for k in config.origins)


class RuleSet:
    """The effective rules: instantiated, versioned, and evaluated together."""

    def __init__(self, config: EffectiveRules, rules: list[Rule]) -> None:
        self.config = config
        self.rules = rules
        self.by_id: dict[str, Rule] = {r.config.id: r for r in rules}
        self.version = config.version

    @classmethod
    def load(cls, path: Path | None = None) -> RuleSet:
        """The packaged rules with ``path`` (the user's file) merged over them."""
        from sanctrace.monitor.rules.custom import compile_custom

        config = load_config(path)
        rules: list[Rule] = []
        for rid, rc in config.rules.items():
            if not rc.enabled:
                continue
            try:
                rule_class = load_class(rid)
            except ImportError as exc:
                rules.append(_Missing(rc, f"{BUILTIN[rid]} cannot be loaded ({exc})"))
                continue
            check = getattr(rule_class, "check_params", None)
            if check is not None:
                try:
                    check(rc.params)
                except ParamError as exc:
                    key = f"rules.{rid}.params.{exc.key}"
                    raise BadRequest(f"{config.origin(key)}: {key}: {exc.message}") from None
            try:
                rules.append(rule_class(rc))
            except BadRequest as exc:  # a rule that checks its params when built
                where = config.user_file if _set_by_user(config, rid) else PACKAGED
                raise BadRequest(f"{where}: {exc}") from None
        for custom in config.custom:
            if custom.enabled:
                file, at = config.custom_origins.get(custom.id, ("rules", custom.id))
                rules.append(compile_custom(custom, file, at))
        return cls(config, rules)

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        """Every applicable rule's findings for ``event``; errors become error findings."""
        memo = _Memo(facts)
        found: list[Finding] = []
        for rule in self.rules:
            if not rule.applies(event):
                continue
            try:
                result = rule.evaluate(event, memo)
                if not isinstance(result, list) or not all(isinstance(f, Finding) for f in result):
                    raise TypeError("the rule did not answer a list of findings")
            except Exception as exc:  # any failure is a visible error, never a silent pass
                reason = str(exc) or type(exc).__name__
                found.append(error_finding(rule.config.id, reason, rule.config))
                continue
            found.extend(result)
        return found

    def decide(self, event: Event, facts: Facts) -> tuple[str, list[Finding]]:
        """The decision (allow, hold, block) and the findings behind it."""
        findings = self.evaluate(event, facts)
        return decision_of(findings), findings
