"""What every benchmark ends with: its results as JSON under bench/results and as a table."""

from __future__ import annotations

import json
import resource
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _shown(value: object) -> str:
    return f"{value:,.3f}" if isinstance(value, float) else str(value)


def _rows(prefix: str, values: dict) -> list[tuple[str, str]]:
    rows = []
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            rows += _rows(name, value)
        else:
            rows.append((name, _shown(value)))
    return rows


def finish(name: str, results: dict) -> Path:
    """Add the peak RSS, write ``results/<name>.json`` and print one row per figure."""
    results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'section':<20} {'metric':<40} {'value':>20}")
    for section, values in results.items():
        if isinstance(values, dict):
            for key, shown in _rows("", values):
                print(f"{section:<20} {key:<40} {shown:>20}")
        else:
            print(f"{section:<20} {'':<40} {_shown(values):>20}")
    print(f"written to {path}")
    return path
