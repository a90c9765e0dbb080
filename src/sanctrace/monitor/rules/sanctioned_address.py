"""``sanctioned_address``: a deposit from, or a withdrawal to, a listed address (block).

Fires when the event's address (the exchange's deposit address, or the withdrawal's
destination) or the travel-rule party's ``wallet`` is listed, carries a sanctioned tag, or sits
in a cluster holding such an address; and, with ``direct_exposure``, when the exposure engine
finds flagged funds 0 or 1 hop away (a deposit received straight from a flagged address, a
destination that sent straight to one). Exposure 2 hops or further is ``indirect_exposure``'s.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sanctrace.monitor.events import DepositEvent, Event, WithdrawalEvent
from sanctrace.monitor.rules.base import Facts, Finding, Rule
from sanctrace.monitor.rules.config import ParamError

__all__ = ["SanctionedAddress"]


def _listed_in(facts_hits: list[dict[str, Any]], tags: list[dict[str, Any]]) -> list[dict]:
    """The evidence of one screening: list entries and sanctioned tags (own or the cluster's)."""
    evidence = [
        {
            "kind": "list",
            "source": h.get("source"),
            "snapshot_id": h.get("snapshot_id"),
            "entity_id": h.get("entity_id"),
            "caption": h.get("caption"),
            "address": h.get("address"),
        }
        for h in facts_hits
    ]
    for t in tags:
        if t.get("category") == "sanctioned" or (t.get("abuse") or "") in ("sanction", "sanctions"):
            evidence.append(
                {
                    "kind": "tag",
                    "address": t.get("address"),
                    "label": t.get("label"),
                    "source": t.get("source"),
                    "snapshot_id": t.get("snapshot_id"),
                    "tag_set_id": t.get("tag_set_id"),
                    "entity_id": t.get("entity_id"),
                    "reason": t.get("reason"),
                }
            )
    return evidence


class SanctionedAddress(Rule):
    id = "sanctioned_address"
    event_types: ClassVar[frozenset[str]] = frozenset({"deposit", "withdrawal"})

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if params.get("exposure_hops", 5) < 1:
            raise ParamError("exposure_hops", "must be at least 1")

    def applies(self, event: Event) -> bool:
        chains = self.params.get("chains") or []
        return super().applies(event) and (not chains or getattr(event, "chain", None) in chains)

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        assert isinstance(event, DepositEvent | WithdrawalEvent)
        deposit = isinstance(event, DepositEvent)
        role = "deposit address" if deposit else "withdrawal destination"
        role_ja = "入金アドレス" if deposit else "出金先アドレス"
        subjects = [(event.address, role, role_ja)]
        party = event.originator if isinstance(event, DepositEvent) else event.beneficiary
        if self.params.get("parties", True) and party is not None and party.wallet:
            who = "originator" if deposit else "beneficiary"
            who_ja = "送付人" if deposit else "受取人"
            subjects.append(
                (party.wallet, f"travel-rule {who} wallet", f"トラベルルールの{who_ja}ウォレット")
            )
        findings: list[Finding] = []
        for address, what, what_ja in dict.fromkeys(subjects):
            facts_of = facts.address(event.chain, address)
            if not facts_of.sanctioned:
                continue
            evidence = _listed_in(facts_of.hits, facts_of.tags)
            via_cluster = all(e["address"] != facts_of.address for e in evidence)
            how = "is in a cluster holding a listed address" if via_cluster else "is listed"
            how_ja = (
                "制裁対象アドレスを含むクラスタに属しています"
                if via_cluster
                else "制裁リストに掲載されています"
            )
            names = ", ".join(sorted({str(e.get("caption") or e.get("label")) for e in evidence}))
            findings.append(
                self.finding(
                    subject=facts_of.address,
                    summary=f"The {what} {facts_of.address} {how} ({names}).",
                    summary_ja=f"{what_ja} {facts_of.address} は{how_ja}（{names}）。",
                    evidence={
                        "address": facts_of.address,
                        "chain": facts_of.chain or event.chain,
                        "role": what,
                        "via_cluster": via_cluster,
                        "matches": evidence,
                        "snapshots": facts_of.snapshots,
                    },
                    key=(
                        facts_of.address,
                        *sorted(str(e.get("entity_id") or e.get("label")) for e in evidence),
                    ),
                )
            )
        if self.params.get("direct_exposure", True) and not findings:
            findings.extend(self._direct(event, facts))
        return findings

    def _direct(self, event: DepositEvent | WithdrawalEvent, facts: Facts) -> list[Finding]:
        """Flagged funds 0 or 1 hop away, from the exposure engine (None: no chain data, which
        ``indirect_exposure`` reports for deposits)."""
        hops = int(self.params.get("exposure_hops", 5))
        if isinstance(event, DepositEvent):
            answer = facts.exposure(
                chain=event.chain,
                direction="in",
                hops=hops,
                txid=event.txid,
                output_index=event.output_index,
            )
        else:
            answer = facts.exposure(
                chain=event.chain, direction="out", hops=hops, address=event.address
            )
        if not answer or not answer.get("tainted_value") or answer.get("min_hops") not in (0, 1):
            return []
        entities = ", ".join(
            str(e.get("label") or e.get("entity")) for e in answer.get("by_entity", [])[:3]
        )
        if isinstance(event, DepositEvent):
            summary = (
                f"Deposit {event.txid} was received straight from a flagged address ({entities})."
            )
            summary_ja = (
                f"入金 {event.txid} は制裁対象アドレス（{entities}）から直接送られています。"
            )
        else:
            summary = f"The destination {event.address} sent funds straight to a flagged address ({entities})."
            summary_ja = (
                f"出金先 {event.address} は制裁対象アドレス（{entities}）へ直接送金しています。"
            )
        return [
            self.finding(
                subject=answer.get("subject", event.address),
                summary=summary,
                summary_ja=summary_ja,
                evidence={
                    "direct_exposure": True,
                    "subject": answer.get("subject"),
                    "min_hops": answer.get("min_hops"),
                    "fraction": answer.get("fraction"),
                    "tainted_value": answer.get("tainted_value"),
                    "by_entity": answer.get("by_entity", []),
                    "path": (answer.get("paths") or [None])[0],
                    "basis": answer.get("basis"),
                },
                key=(answer.get("subject"), "direct"),
            )
        ]
