"""``pass_through`` (typology 5): a deposit forwarded out by withdrawals within a window.

Definition (docs/backtest.md): on a withdrawal W of customer C in asset A, for every deposit D
of C in A with ``time(D) >= time(W) - window_hours`` stored before W, let S be the sum of C's
withdrawals in A stored after D, up to and including W, with ``time <= time(D) +
window_hours``. W *completes* the pass-through of D when ``S >= min_fraction × amount(D)``
and the sum without W was still below it: one finding per deposit, on the withdrawal that
crossed the fraction. Amounts are exact decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from sanctrace.errors import BadRequest
from sanctrace.monitor.events import DepositEvent, Event, WithdrawalEvent
from sanctrace.monitor.rules._windowed import as_of, asset_of, decimal_param, hours, number_param
from sanctrace.monitor.rules.base import Facts, Finding, Rule, RuleConfig

__all__ = ["PassThrough"]


class PassThrough(Rule):
    id: ClassVar[str] = "pass_through"
    event_types: ClassVar[frozenset[str]] = frozenset({"withdrawal"})

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.window_hours = number_param(self.id, self.params, "window_hours", 48)
        self.window = hours(self.window_hours)
        self.min_fraction = decimal_param(
            self.id, "min_fraction", self.params.get("min_fraction", "0.8")
        )
        if not 0 < self.min_fraction <= 1:
            raise BadRequest(f"rules: {self.id}.min_fraction: must be above 0 and at most 1")

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        if not isinstance(event, WithdrawalEvent):
            return []
        asset = asset_of(event)
        seen = as_of(facts, event, types=("deposit", "withdrawal"), since=event.time - self.window)
        findings = []
        for i, d in enumerate(seen[:-1]):
            if not isinstance(d, DepositEvent) or asset_of(d) != asset:
                continue
            deposit = Decimal(d.amount)
            need = self.min_fraction * deposit
            end = d.time + self.window
            out = [
                w
                for w in seen[i + 1 :]
                if isinstance(w, WithdrawalEvent) and asset_of(w) == asset and w.time <= end
            ]
            total = sum((Decimal(w.amount) for w in out), Decimal(0))
            before = total - Decimal(event.amount)
            if not (before < need <= total):
                continue
            fraction = total / deposit
            findings.append(
                self.finding(
                    event.customer_id,
                    f"{fraction:.0%} of deposit {d.amount} {asset} ({d.txid}) was withdrawn to "
                    f"other addresses within {self.window_hours:g} hours "
                    f"({len(out)} withdrawals, {total} {asset}).",
                    f"入金 {d.amount} {asset}（{d.txid}）の {fraction:.0%} が "
                    f"{self.window_hours:g} 時間以内に出金されました"
                    f"（出金 {len(out)} 件、合計 {total} {asset}）。資金の通過（パススルー）の"
                    "疑いがあります。",
                    {
                        "deposit": {
                            "event_id": d.event_id,
                            "time": d.time.isoformat(),
                            "txid": d.txid,
                            "amount": d.amount,
                            "asset": asset,
                        },
                        "withdrawals": [
                            {
                                "event_id": w.event_id,
                                "time": w.time.isoformat(),
                                "amount": w.amount,
                                "address": w.address,
                            }
                            for w in out
                        ],
                        "forwarded": str(total),
                        "fraction": str(fraction),
                        "window_hours": self.window_hours,
                        "min_fraction": str(self.min_fraction),
                    },
                    key=(event.customer_id, d.event_id),
                )
            )
        return findings
