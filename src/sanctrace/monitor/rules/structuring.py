"""``structuring`` (typology 6): several withdrawals just under a threshold that together pass it.

Definition (docs/backtest.md): on a withdrawal (crypto, asset A) or ``fiat_out`` (currency A)
W of customer C whose amount is below ``thresholds[A]``, take C's withdrawals in A stored up to
and including W with ``time >= time(W) - window_days`` whose amounts are each below the
threshold. The rule fires when there are at least ``min_count`` of them and their sum is above
the threshold. An asset without a threshold is not checked. The finding's key is the customer,
the asset and the first withdrawal of the window, so the alerts of one burst are counted on
one alert.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from sanctrace.monitor.events import Event
from sanctrace.monitor.rules._windowed import as_of, asset_of, days, number_param, thresholds_param
from sanctrace.monitor.rules.base import Facts, Finding, Rule, RuleConfig

__all__ = ["Structuring"]

TYPES = ("withdrawal", "fiat_out")


class Structuring(Rule):
    id: ClassVar[str] = "structuring"
    event_types: ClassVar[frozenset[str]] = frozenset(TYPES)

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.window_days = number_param(self.id, self.params, "window_days", 7)
        self.window = days(self.window_days)
        self.min_count = int(number_param(self.id, self.params, "min_count", 3, integer=True))
        self.thresholds = thresholds_param(self.id, self.params)

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        if event.type not in TYPES:
            return []
        asset = asset_of(event)
        threshold = self.thresholds.get(asset or "")
        amount = Decimal(getattr(event, "amount", "0"))
        if threshold is None or amount >= threshold:
            return []
        seen = as_of(facts, event, types=TYPES, since=event.time - self.window)
        small = [
            e
            for e in seen
            if asset_of(e) == asset and Decimal(getattr(e, "amount", "0")) < threshold
        ]
        total = sum((Decimal(getattr(e, "amount", "0")) for e in small), Decimal(0))
        if len(small) < self.min_count or total <= threshold:
            return []
        return [
            self.finding(
                event.customer_id,
                f"{len(small)} withdrawals of {asset}, each below the threshold of {threshold}, "
                f"total {total} within {self.window_days:g} days.",
                f"{self.window_days:g} 日以内に {asset} の出金が {len(small)} 件あり、"
                f"いずれも基準額 {threshold} 未満ですが、合計 {total} は基準額を超えています。"
                "基準額を避けるための分割（ストラクチャリング）の疑いがあります。",
                {
                    "asset": asset,
                    "threshold": str(threshold),
                    "total": str(total),
                    "count": len(small),
                    "window_days": self.window_days,
                    "withdrawals": [
                        {
                            "event_id": e.event_id,
                            "time": e.time.isoformat(),
                            "amount": getattr(e, "amount", None),
                        }
                        for e in small
                    ],
                },
                key=(event.customer_id, asset, small[0].event_id),
            )
        ]
