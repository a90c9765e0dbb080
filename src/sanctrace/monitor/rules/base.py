"""The interface every monitoring rule (typology) implements, and what a rule may ask.

A rule is a class with a stable ``id``, the event types it looks at, and ``evaluate``: one
event and the ``Facts`` about the world in, zero or more ``Finding``s out. Its severity, action
and parameters come from the rules file (``RuleConfig``). A finding explains itself in English
and Japanese and carries its evidence; ``evidence_key`` says what makes two findings the same
(the alert of a repeated finding is counted, not repeated).

The decision over a set of findings: ``block`` if any finding blocks, else ``hold`` if any
holds or a rule could not be evaluated (an ``error`` finding: never a silent pass), else
``allow``; findings whose action is ``alert`` raise an alert without stopping the transfer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol

from sanctrace.model import Match
from sanctrace.monitor.events import CustomerEvent, Event, NameIn
from sanctrace.store.monitoring import evidence_key

__all__ = [
    "Action",
    "AddressFacts",
    "Facts",
    "Finding",
    "IpCountry",
    "Rule",
    "RuleConfig",
    "Severity",
    "decision_of",
    "evidence_key",
]


class Action(StrEnum):
    ALERT = "alert"  # raise an alert, let the transfer go
    HOLD = "hold"  # do not transfer until confirmed not a target
    BLOCK = "block"  # do not transfer


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Finding:
    """What a rule found about one event, in words (both languages) and evidence."""

    rule: str
    severity: str
    action: str
    subject: str  # what it is about: an address, a name, an IP, a customer
    summary: str
    summary_ja: str
    evidence: dict[str, Any] = field(default_factory=dict)
    evidence_key: str = ""  # what makes two findings the same; see ``evidence_key``
    error: bool = False  # the rule could not be evaluated

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "action": self.action,
            "subject": self.subject,
            "summary": self.summary,
            "summary_ja": self.summary_ja,
            "evidence": self.evidence,
            "error": self.error,
        }


def decision_of(findings: Iterable[Finding]) -> str:
    """``block``, ``hold`` or ``allow`` for a set of findings (see the module docstring)."""
    actions = {f.action for f in findings} | {"hold" for f in findings if f.error}
    if Action.BLOCK in actions:
        return "block"
    if Action.HOLD in actions:
        return "hold"
    return "allow"


@dataclass(frozen=True)
class RuleConfig:
    """One rule's entry in the effective rules file."""

    id: str
    enabled: bool = True
    severity: str = Severity.MEDIUM
    action: str = Action.ALERT
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IpCountry:
    """Where an IP address is registered, and the date of the database that says so."""

    ip: str
    country: str  # ISO 3166-1 alpha-2, upper case
    database: str  # name of the database
    database_date: date


@dataclass(frozen=True)
class AddressFacts:
    """What the lists, tags and cluster maps say of one address."""

    address: str
    chain: str | None
    sanctioned: bool
    hits: list[dict[str, Any]]  # list entries naming it (entity_id, caption, source, snapshot_id)
    tags: list[dict[str, Any]]  # its attribution tags, and those its cluster lends it
    snapshots: dict[str, int]


class Facts(Protocol):
    """What a rule may ask about the world while it evaluates one event.

    Answers are as of the lists, tags and chain data in force; history is the stored events."""

    def address(self, chain: str, address: str) -> AddressFacts: ...

    def exposure(
        self,
        *,
        chain: str,
        direction: str,
        hops: int,
        address: str | None = None,
        txid: str | None = None,
        output_index: int | None = None,
        flagged_file: Path | None = None,
    ) -> dict[str, Any] | None:
        """The exposure answer (``services.exposure.ExposureAnswer.to_dict()``), or None when
        the chain store holds no data for ``chain`` or does not know the subject.
        ``flagged_file`` replaces the flagged addresses (e.g. the payout addresses of
        sanctioned miners) as ``chain exposure --flagged`` does."""
        ...

    def names(
        self,
        names: Sequence[NameIn],
        *,
        schema: str | None = None,
        birth_date: str | None = None,
        country: str | None = None,
    ) -> list[Match]:
        """Matches of a party's names at or above the screener's threshold, best first."""
        ...

    def history(
        self,
        customer_id: str,
        *,
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Event]:
        """The customer's stored events in time order (the event being evaluated included once
        it is stored)."""
        ...

    def customer(self, customer_id: str) -> CustomerEvent | None:
        """The customer's latest ``customer`` event."""
        ...

    def ip_country(self, ip: str) -> IpCountry | None: ...

    def snapshots(self) -> dict[str, int]:
        """{source: active snapshot id}."""
        ...


class Rule(ABC):
    """A typology: subclasses set ``id`` and ``event_types`` and implement ``evaluate``."""

    id: ClassVar[str]
    event_types: ClassVar[frozenset[str]]

    def __init__(self, config: RuleConfig) -> None:
        self.config = config

    @property
    def params(self) -> dict[str, Any]:
        return self.config.params

    def applies(self, event: Event) -> bool:
        return self.config.enabled and event.type in self.event_types

    @abstractmethod
    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        """The findings for ``event`` (empty when nothing is found)."""

    def finding(
        self,
        subject: str,
        summary: str,
        summary_ja: str,
        evidence: dict[str, Any],
        key: Sequence[object] = (),
    ) -> Finding:
        """A finding with this rule's id, severity and action."""
        return Finding(
            rule=self.id,
            severity=str(self.config.severity),
            action=str(self.config.action),
            subject=subject,
            summary=summary,
            summary_ja=summary_ja,
            evidence=evidence,
            evidence_key=evidence_key(*(key or (subject,))),
        )
