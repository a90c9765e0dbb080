"""``name_match``: the customer, or a travel-rule counterparty, matches a listed name (hold).

On ``customer`` events the customer's names (legal, kana reading, alias) are screened with the
birth date and nationality as secondary evidence; on deposits and withdrawals the travel-rule
originator's or beneficiary's names (with its country). A match at the screener's threshold
fires; the evidence names the list entry, its snapshot, the score and the explanation.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sanctrace.monitor.events import CustomerEvent, DepositEvent, Event, NameIn, WithdrawalEvent
from sanctrace.monitor.rules.base import Facts, Finding, Rule
from sanctrace.monitor.rules.config import ParamError

__all__ = ["NameMatch"]

SCHEMAS = {"person": "Person", "company": "Company"}


class NameMatch(Rule):
    id = "name_match"
    event_types: ClassVar[frozenset[str]] = frozenset({"customer", "deposit", "withdrawal"})

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if not 1 <= params.get("top", 3) <= 20:
            raise ParamError("top", "must be between 1 and 20")

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        top = int(self.params.get("top", 3))
        if isinstance(event, CustomerEvent):
            matches = facts.names(
                event.names,
                schema=SCHEMAS[event.kind],
                birth_date=event.birth_date,
                country=event.nationality or event.residence,
            )
            secondary = {"birth_date": event.birth_date, "nationality": event.nationality}
            return self._found(
                event.customer_id, "customer", "顧客", event.names, matches[:top], secondary
            )
        if not self.params.get("parties", True):
            return []
        assert isinstance(event, DepositEvent | WithdrawalEvent)
        party = event.originator if isinstance(event, DepositEvent) else event.beneficiary
        if party is None or not party.names:
            return []
        who, who_ja = (
            ("travel-rule originator", "トラベルルールの送付人")
            if isinstance(event, DepositEvent)
            else ("travel-rule beneficiary", "トラベルルールの受取人")
        )
        matches = facts.names(party.names, country=party.country)
        return self._found(
            event.customer_id, who, who_ja, party.names, matches[:top], {"country": party.country}
        )

    def _found(
        self,
        customer_id: str,
        who: str,
        who_ja: str,
        names: list[NameIn],
        matches: list[Any],
        secondary: dict[str, Any],
    ) -> list[Finding]:
        findings = []
        shown = " / ".join(n.text for n in names[:3])
        for m in matches:
            findings.append(
                self.finding(
                    subject=shown,
                    summary=(
                        f"The {who} {shown} matches {m.entity_name} ({m.source}, snapshot "
                        f"{m.snapshot_id}) with score {m.score:.2f}."
                    ),
                    summary_ja=(
                        f"{who_ja}「{shown}」は {m.entity_name}（{m.source}、スナップショット "
                        f"{m.snapshot_id}）とスコア {m.score:.2f} で一致しました。"
                    ),
                    evidence={
                        "role": who,
                        "customer_id": customer_id,
                        "names": [n.model_dump(mode="json") for n in names],
                        "secondary": {k: v for k, v in secondary.items() if v},
                        "match": m.to_dict(),
                    },
                    key=(customer_id, who, m.entity_id),
                )
            )
        return findings
