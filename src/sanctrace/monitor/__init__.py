"""Exchange monitoring: events, typology rules, decisions, lookback, backtest (to come)."""

__all__: list[str] = []
