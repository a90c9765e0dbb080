"""Settings of the shell and front signals, read from ``data/signals.yml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from sanctrace.errors import SanctraceError

CONFIG_PATH = Path(__file__).with_name("data") / "signals.yml"


class SignalConfigError(SanctraceError):
    """A signals configuration file that cannot be used."""


@dataclass(frozen=True, slots=True)
class SignalConfig:
    """Thresholds and country lists of the signals (see ``data/signals.yml``)."""

    sanctioned_jurisdictions: frozenset[str]
    third_countries: frozenset[str]
    formation_window_days: int = 365
    reowned_window_days: int = 180
    share_move_window_days: int = 365
    nominee_min_companies: int = 5
    deep_ownership_min_layers: int = 3
    max_depth: int = 12

    @classmethod
    def load(cls, path: Path | str | None = None) -> SignalConfig:
        path = Path(path) if path else CONFIG_PATH
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SignalConfigError(f"{path}: cannot read signals configuration ({exc})") from exc
        known = set(cls.__slots__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SignalConfigError(f"{path}: {unknown[0]}: unknown setting")
        countries: dict[str, frozenset[str]] = {}
        numbers: dict[str, int] = {}
        for key, value in data.items():
            if key in ("sanctioned_jurisdictions", "third_countries"):
                if not isinstance(value, list):
                    raise SignalConfigError(f"{path}: {key}: a list of country codes is needed")
                countries[key] = frozenset(str(v).strip().lower() for v in value)
            else:
                if not isinstance(value, int) or value < 0:
                    raise SignalConfigError(f"{path}: {key}: a whole number ≥ 0 is needed")
                numbers[key] = value
        return cls(
            sanctioned_jurisdictions=countries.get("sanctioned_jurisdictions", frozenset()),
            third_countries=countries.get("third_countries", frozenset()),
            **numbers,
        )
