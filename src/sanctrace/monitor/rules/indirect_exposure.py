"""``indirect_exposure``: flagged funds a few hops away (hold).

A deposit: the source of funds of its transaction (its output when ``output_index`` is given).
A withdrawal: the destination of funds of the destination address. Fires when the tainted share
is at least ``min_fraction`` and the tainted amount at least ``min_amount`` of the asset (base
units), within ``hops``. With ``skip_direct`` (the default) an answer whose flagged funds are
0 or 1 hop away is left to ``sanctioned_address`` (block), so the two never report the same
exposure twice.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sanctrace.errors import Unavailable
from sanctrace.monitor.events import DepositEvent, Event, WithdrawalEvent
from sanctrace.monitor.rules.base import Facts, Finding, Rule
from sanctrace.monitor.rules.config import ParamError

__all__ = ["IndirectExposure"]


class IndirectExposure(Rule):
    id = "indirect_exposure"
    event_types: ClassVar[frozenset[str]] = frozenset({"deposit", "withdrawal"})

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        if not 0.0 <= params.get("min_fraction", 0.1) <= 1.0:
            raise ParamError("min_fraction", "must be between 0 and 1")
        if not 1 <= params.get("hops", 5) <= 50:
            raise ParamError("hops", "must be between 1 and 50")
        for asset, amount in (params.get("min_amount") or {}).items():
            if amount < 0:
                raise ParamError(f"min_amount.{asset}", "must not be negative")
        if params.get("missing_data", "error") not in ("error", "pass"):
            raise ParamError("missing_data", "must be error or pass")

    def applies(self, event: Event) -> bool:
        chains = self.params.get("chains") or []
        return super().applies(event) and (not chains or getattr(event, "chain", None) in chains)

    def min_amount(self, asset: str) -> int:
        table = self.params.get("min_amount") or {}
        return int(table.get(asset.upper(), table.get(asset, table.get("*", 0))))

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        assert isinstance(event, DepositEvent | WithdrawalEvent)
        hops = int(self.params.get("hops", 5))
        deposit = isinstance(event, DepositEvent)
        if isinstance(event, DepositEvent):
            answer = facts.exposure(
                chain=event.chain,
                direction="in",
                hops=hops,
                txid=event.txid,
                output_index=event.output_index,
            )
            if answer is None:
                if self.params.get("missing_data", "error") == "error":
                    raise Unavailable(
                        f"no chain data for deposit {event.txid} on {event.chain}: its source of"
                        " funds cannot be traced"
                    )
                return []
        else:
            # An address the chain data has never seen has no destination of funds: a pass.
            answer = facts.exposure(
                chain=event.chain, direction="out", hops=hops, address=event.address
            )
            if answer is None:
                return []
        tainted = float(answer.get("tainted_value") or 0)
        fraction = float(answer.get("fraction") or 0)
        min_hops = answer.get("min_hops")
        if not tainted or min_hops is None:
            return []
        if self.params.get("skip_direct", True) and min_hops <= 1:
            return []  # sanctioned_address's (see the module docstring)
        floor = self.min_amount(event.asset)
        min_fraction = float(self.params.get("min_fraction", 0.1))
        if fraction < min_fraction or tainted < floor:
            return []
        unit = answer.get("unit") or {}
        symbol = unit.get("symbol", event.asset) if isinstance(unit, dict) else event.asset
        entities = ", ".join(
            str(e.get("label") or e.get("entity")) for e in answer.get("by_entity", [])[:3]
        )
        if deposit:
            summary = (
                f"{fraction:.1%} of deposit {answer.get('subject')} comes from flagged funds "
                f"({entities}) {min_hops} hops away."
            )
            summary_ja = (
                f"入金 {answer.get('subject')} の {fraction:.1%} は {min_hops} ホップ先の"
                f"制裁対象資金（{entities}）に由来します。"
            )
        else:
            summary = (
                f"{fraction:.1%} of what {event.address} sent reached flagged addresses "
                f"({entities}) within {min_hops} hops."
            )
            summary_ja = (
                f"出金先 {event.address} から送られた資金の {fraction:.1%} が {min_hops} ホップ以内で"
                f"制裁対象アドレス（{entities}）に届いています。"
            )
        return [
            self.finding(
                subject=str(answer.get("subject") or event.address),
                summary=summary,
                summary_ja=summary_ja,
                evidence={
                    "subject": answer.get("subject"),
                    "direction": answer.get("direction"),
                    "fraction": fraction,
                    "tainted_value": tainted,
                    "unit": symbol,
                    "min_hops": min_hops,
                    "hops_limit": hops,
                    "thresholds": {"min_fraction": min_fraction, "min_amount": floor},
                    "by_entity": answer.get("by_entity", []),
                    "path": (answer.get("paths") or [None])[0],
                    "basis": answer.get("basis"),
                },
                key=(answer.get("subject"), min_hops),
            )
        ]
