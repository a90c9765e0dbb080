"""Verdicts for every node at once, on arrays: OFAC and EU ownership rules, control.

Shared by ``rule.assess`` (the friendly front over ``OwnershipGraph``) and the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sanctrace.network.arrays import FixedPoint, ShareArrays, fixed_point

BLOCKED, POSSIBLY, NOT_BLOCKED = 2, 1, 0
VERDICT_NAMES = {BLOCKED: "blocked", POSSIBLY: "possibly_blocked", NOT_BLOCKED: "not_blocked"}
THRESHOLD = 50.0


@dataclass(slots=True)
class Verdicts:
    """Per-node results; the fixed points are kept to explain them."""

    ofac: np.ndarray  # int8: BLOCKED / POSSIBLY / NOT_BLOCKED (OFAC: 50% or more)
    eu: np.ndarray  # int8, same codes (EU: more than 50%)
    controlled: np.ndarray  # bool
    blocked_low: np.ndarray  # float64: share certainly held by blocked owners (OFAC)
    blocked_high: np.ndarray  # float64: share possibly held by (possibly) blocked owners
    ofac_low: FixedPoint
    ofac_high: FixedPoint
    eu_low: FixedPoint
    eu_high: FixedPoint
    control: FixedPoint | None
    control_direct: np.ndarray  # bool: a control link from a controlling party

    def counts(self, mask: np.ndarray | None = None) -> dict[str, int]:
        codes = self.ofac if mask is None else self.ofac[mask]
        out = {name: int((codes == code).sum()) for code, name in VERDICT_NAMES.items()}
        ctl = self.controlled if mask is None else self.controlled[mask]
        out["controlled"] = int(ctl.sum())
        eu = self.eu if mask is None else self.eu[mask]
        out["eu_blocked"] = int((eu == BLOCKED).sum())
        out["eu_possibly_blocked"] = int((eu == POSSIBLY).sum())
        return out


def _codes(low: FixedPoint, high: FixedPoint) -> np.ndarray:
    out = np.full(len(low.level), NOT_BLOCKED, np.int8)
    out[high.members] = POSSIBLY
    out[low.members] = BLOCKED
    return out


def compute(
    arr: ShareArrays,
    listed: np.ndarray,
    possibly: np.ndarray | None = None,
    control_arr: ShareArrays | None = None,
    control_edges: np.ndarray | None = None,
) -> Verdicts:
    """All verdicts from ownership arrays and seed masks.

    ``listed``: certainly blocked parties; ``possibly``: weaker list matches, which seed the
    upper bound only. ``control_arr`` holds the ownership edges plus one edge per control
    link at 100%; ``control_edges`` marks which of its merged edges carry a control link.
    A node is *controlled* when it is in the closure of (listed ∪ blocked) over that graph
    and either got there through a control link or has one from a member directly.
    """
    listed = np.asarray(listed, bool)
    possibly = np.zeros_like(listed) if possibly is None else np.asarray(possibly, bool)
    ofac_low = fixed_point(arr, listed, THRESHOLD)
    ofac_high = fixed_point(arr, listed | possibly | ofac_low.members, THRESHOLD, upper=True)
    eu_low = fixed_point(arr, listed, THRESHOLD, strict=True)
    eu_high = fixed_point(
        arr, listed | possibly | eu_low.members, THRESHOLD, strict=True, upper=True
    )
    blocked = listed | ofac_low.members
    controlled = np.zeros_like(listed)
    direct = np.zeros_like(listed)
    control = None
    if control_arr is not None and control_edges is not None:
        control = fixed_point(control_arr, blocked, THRESHOLD)
        ce = np.flatnonzero(control_edges)
        from_member = ce[control.members[control_arr.owner[ce]]]
        direct[control_arr.asset[from_member]] = True
        controlled = control.members & (~blocked | direct)
    return Verdicts(
        ofac=_codes(ofac_low, ofac_high),
        eu=_codes(eu_low, eu_high),
        controlled=controlled,
        blocked_low=ofac_low.held,
        blocked_high=np.maximum(ofac_high.held, ofac_low.held),
        ofac_low=ofac_low,
        ofac_high=ofac_high,
        eu_low=eu_low,
        eu_high=eu_high,
        control=control,
        control_direct=direct,
    )
