"""The records an exposure query returns, shared by the UTXO and account-chain engines.

``Exposure`` (one subject, one direction) with its evidence ``Path``s of ``Step``s, the
``UnknownSubject`` both engines raise (bad options: ``exposure_options.ExposureError``), and the per-category and per-entity breakdown, which both
fill the same way from the flagged units that the taint reached. Re-exported by
``chain.exposure``, their public home.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sanctrace.chain.exposure_options import ExposureError
from sanctrace.chain.flags import FlagIndex
from sanctrace.errors import NotFound

Model = Literal["haircut", "poison", "fifo"]
Direction = Literal["in", "out"]

__all__ = ["Direction", "Exposure", "ExposureError", "Model", "Path", "Step", "UnknownSubject"]


class UnknownSubject(NotFound, ExposureError):
    """The transaction, output, address or token asked about is not in the graph."""


@dataclass
class Step:
    """One output (or transfer) on an evidence path."""

    txid: str
    output_index: int
    address: str | None
    tags: list[str]
    amount: int  # satoshi (base units) the output carries


@dataclass
class Path:
    """A chain of steps from a flagged source to the subject (in) or subject to flagged (out)."""

    value: float  # the tainted value this path carries (poison: its smallest amount)
    hops: int
    steps: list[Step]


@dataclass
class Exposure:
    """The exposure of one subject, with its breakdown and evidence."""

    subject: str  # "tx:<txid>", "output:<txid>:<n>", "address:<addr>"
    direction: Direction
    model: Model
    hops_limit: int  # -1: no limit (account chains)
    value: int  # satoshi of the subject (sum of its outputs / received value)
    tainted_value: float
    fraction: float
    min_hops: int | None
    by_category: dict[str, float] = field(default_factory=dict)
    by_entity: list[dict[str, Any]] = field(default_factory=list)
    stopped: list[dict[str, Any]] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with stable keys."""
        return asdict(self)


def fill_breakdown(
    found: Exposure,
    index: FlagIndex,
    units: Iterable[int],
    measure: Callable[[list[set[int]]], list[float]],
) -> None:
    """Fill ``by_category`` and ``by_entity`` of ``found`` for the flagged ``units`` (address or
    cluster ids) the taint reached: ``measure(unit sets)`` gives the tainted value with only
    each set's units flagged."""
    groups, categories = index.groups(units)
    if not groups:
        return
    names, keys = sorted(categories), sorted(groups)
    values = measure([categories[c] for c in names] + [groups[key][1] for key in keys])
    found.by_category = dict(zip(names, values[: len(names)], strict=True))
    rows = []
    for (group, category), value in zip(keys, values[len(names) :], strict=True):
        fraction = value / found.value if found.value > 0 else 0.0
        if found.direction == "out" and found.model == "poison":
            fraction = 1.0 if value > 0 else 0.0
        rows.append(
            {
                "entity": group,
                "label": groups[(group, category)][0],
                "category": category,
                "tainted_value": value,
                "fraction": fraction,
            }
        )
    found.by_entity = sorted(rows, key=lambda r: (-r["tainted_value"], r["entity"]))
