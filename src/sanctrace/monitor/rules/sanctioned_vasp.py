"""``sanctioned_vasp``: the counterparty VASP is a listed entity (block).

The VASP named in travel-rule data (a deposit's originator, a withdrawal's beneficiary) or on a
``wallet`` event is screened as a name against the lists' companies and organisations (persons
and vessels are not VASPs); and the counterparty's address (the withdrawal destination, the
party's wallet, the wallet event's address) fires when it is tagged as a VASP (category
``exchange``) and is sanctioned or listed, as the lists' crypto-service entries are.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sanctrace.monitor.events import DepositEvent, Event, NameIn, WalletEvent, WithdrawalEvent
from sanctrace.monitor.rules.base import Facts, Finding, Rule
from sanctrace.monitor.rules.config import ParamError

__all__ = ["SanctionedVasp"]


class SanctionedVasp(Rule):
    id = "sanctioned_vasp"
    event_types: ClassVar[frozenset[str]] = frozenset({"deposit", "withdrawal", "wallet"})

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if not params.get("schemas"):
            raise ParamError("schemas", "name at least one schema (e.g. Company)")

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        vasp: str | None
        addresses: list[str] = []
        if isinstance(event, WalletEvent):
            if event.action == "remove":
                return []
            vasp, addresses = event.vasp, [event.address]
            chain = event.chain
        else:
            assert isinstance(event, DepositEvent | WithdrawalEvent)
            party = event.originator if isinstance(event, DepositEvent) else event.beneficiary
            vasp = party.vasp if party is not None else None
            if party is not None and party.wallet:
                addresses.append(party.wallet)
            if isinstance(event, WithdrawalEvent):
                addresses.append(event.address)
            chain = event.chain
        findings: list[Finding] = []
        if vasp:
            findings.extend(self._by_name(event, vasp, facts))
        for address in dict.fromkeys(addresses):
            findings.extend(self._by_address(event, chain, address, facts))
        return findings

    def _by_name(self, event: Event, vasp: str, facts: Facts) -> list[Finding]:
        schemas = set(self.params.get("schemas", []))
        top = int(self.params.get("top", 3))
        matches = [m for m in facts.names([NameIn(text=vasp)]) if m.schema in schemas][:top]
        return [
            self.finding(
                subject=vasp,
                summary=(
                    f"The counterparty VASP {vasp} matches the listed {m.entity_name} "
                    f"({m.source}, snapshot {m.snapshot_id}, score {m.score:.2f})."
                ),
                summary_ja=(
                    f"相手方の暗号資産交換業者「{vasp}」は制裁リスト掲載の {m.entity_name}"
                    f"（{m.source}、スナップショット {m.snapshot_id}、スコア {m.score:.2f}）と一致しました。"
                ),
                evidence={"vasp": vasp, "event_type": event.type, "match": m.to_dict()},
                key=(vasp.casefold(), m.entity_id),
            )
            for m in matches
        ]

    def _by_address(self, event: Event, chain: str, address: str, facts: Facts) -> list[Finding]:
        found = facts.address(chain, address)
        categories = set(self.params.get("vasp_categories", ["exchange"]))
        vasp_tags = [t for t in found.tags if t.get("category") in categories]
        # A listed entry's address is a crypto-service's when the address is tagged a VASP's
        # or the entry is what the lists call an exchange (its caption or label says so).
        listed_vasp = [h for h in found.hits if "exchange" in str(h.get("caption", "")).lower()]
        if not (found.sanctioned and (vasp_tags or listed_vasp)):
            return []
        label = ", ".join(
            sorted(
                {str(t.get("label")) for t in vasp_tags}
                | {str(h.get("caption")) for h in listed_vasp}
            )
        )
        return [
            self.finding(
                subject=found.address,
                summary=f"The counterparty address {found.address} belongs to a sanctioned VASP ({label}).",
                summary_ja=f"相手方アドレス {found.address} は制裁対象の暗号資産交換業者（{label}）のものです。",
                evidence={
                    "address": found.address,
                    "chain": found.chain or chain,
                    "vasp_tags": vasp_tags,
                    "hits": found.hits,
                    "snapshots": found.snapshots,
                },
                key=(found.address, "vasp"),
            )
        ]
