"""One subject's exposure for ``ExposureEngine`` (UTXO chains): in and out, with breakdown,
stop outputs and evidence paths.

* **in**: the subject's outputs' bulk results (``ExposureEngine.run``), its tainted ancestor
  cone; the per-category and per-entity breakdown re-runs the cone with one group's sources at
  a time, the evidence paths come from one more sparse run over it.
* **out**: a sparse run forward from the subject's outputs alone, over the transactions within
  the hop limit, flagged outputs terminal; what lands on flagged outputs is the exposure.

``SubjectQueries`` is a mixin: ``ExposureEngine`` holds the state it reads (see the
annotations) and takes the lock around each query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from sanctrace.chain import _taint as k
from sanctrace.chain import _taint_query as q
from sanctrace.chain._exposure_records import (
    Direction,
    Exposure,
    Model,
    Path,
    Step,
    fill_breakdown,
)
from sanctrace.chain.flags import Flag, FlagIndex
from sanctrace.chain.graph import UtxoGraph


class OutputPlace(TypedDict):
    """Where an output is: its transaction, index and address (the head of a stop row)."""

    txid: str
    output_index: int
    address: str | None


class SubjectQueries:
    """The one-subject half of ``ExposureEngine``: ``_in`` and ``_out`` and their parts."""

    graph: UtxoGraph
    model: Model
    hops_limit: int
    unit_flags: dict[int, list[Flag]]
    unit_stops: dict[int, list[Flag]]
    out_class: np.ndarray  # FLAGGED | STOP bits per output
    fraction: np.ndarray  # bulk results per output (after run)
    tainted: np.ndarray
    hops: np.ndarray
    _model: int
    _index: FlagIndex
    _out_unit: np.ndarray  # address or cluster id per output
    _out_tx: np.ndarray | None
    _rank: np.ndarray | None
    _kmap_in: np.ndarray
    _kmap_out: np.ndarray
    _kmap_cone: np.ndarray

    if TYPE_CHECKING:

        def run(self) -> None: ...
        def _structure(self) -> None: ...
        def _query_structure(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def _sparse(
        self, txs: np.ndarray, seeds: np.ndarray, kinds: np.ndarray, kmap: np.ndarray, top: int
    ) -> tuple[np.ndarray, ...]:
        """``sparse_sweep`` over ``txs`` from ``seeds`` (see ``_taint_query``)."""
        g = self.graph
        scratch = self._query_structure()
        return q.sparse_sweep(
            txs,
            seeds,
            kinds,
            self._model,
            self.hops_limit,
            g.out_ptr,
            g.out_value,
            g.in_ptr,
            g.in_output,
            g.in_value,
            self.out_class,
            kmap,
            scratch[0],
            top,
        )

    def _in(self, subject: str, outs: np.ndarray, top: int) -> Exposure:
        """Source of funds of the outputs ``outs``, with ``top`` evidence paths."""
        self.run()
        g = self.graph
        scratch = self._query_structure()
        assert self._out_tx is not None and self._rank is not None
        value = int(g.out_value[outs].sum())
        hit = outs[self.hops[outs] >= 0]
        found = found_in = self._blank(subject, "in", value, float(self.tainted[outs].sum()))
        if len(outs) == 1 or value == 0:
            found.fraction = float(self.fraction[outs].max()) if len(outs) else 0.0
        # the cone of every subject output, tainted or not: stops that blocked taint show up
        txs, cone, blocked = q.cone(
            outs,
            self.hops_limit,
            self._out_tx,
            g.in_ptr,
            g.in_output,
            self.out_class,
            self._kmap_in,
            self.hops,
            self.tainted,
            self._rank,
            scratch[1],
            scratch[2],
        )
        reached = np.concatenate([cone, blocked])
        self._stopped(found, reached[self.tainted[reached] > 0], self.tainted)
        if not hit.size:
            return found
        found.min_hops = int(self.hops[hit].min())
        seeds = cone[(self.out_class[cone] & k.FLAGGED) != 0]

        def measure(groups: list[set[int]]) -> list[float]:
            units = self._out_unit[seeds].tolist()
            everyone = set(units)
            result = [found_in.tainted_value if everyone <= u else -1.0 for u in groups]
            rerun = [i for i, value in enumerate(result) if value < 0]  # a group with all the
            if rerun:  # cone's sources gives the bulk result: only the others are re-run
                member = np.array([[u in groups[i] for i in rerun] for u in units], np.bool_)
                values = q.restricted(
                    txs,
                    seeds,
                    member,
                    hit,
                    self._model,
                    self.hops_limit,
                    g.out_ptr,
                    g.out_value,
                    g.in_ptr,
                    g.in_output,
                    g.in_value,
                    self.out_class,
                    self._kmap_cone,
                    scratch[0],
                )
                for i, value in zip(rerun, values.tolist(), strict=True):
                    result[i] = value
            return result

        self._breakdown(found, seeds, measure)
        if top > 0:
            kinds = np.full(len(seeds), k.SOURCE, np.uint8)
            res = self._sparse(txs, seeds, kinds, self._kmap_cone, top)
            found.paths = self._paths(res, np.flatnonzero(np.isin(res[0], hit)).tolist(), top)
        return found

    def _out(self, subject: str, outs: np.ndarray, top: int) -> Exposure:
        """Destination of funds of the outputs ``outs``, with ``top`` evidence paths."""
        g = self.graph
        scratch = self._query_structure()
        assert self._rank is not None
        outs = np.unique(outs)
        kinds = np.where(self.out_class[outs] & k.FLAGGED, k.TERMINAL, k.SOURCE).astype(np.uint8)
        txs = q.forward_region(
            outs,
            kinds,
            self.hops_limit,
            g.spent_by,
            g.out_ptr,
            self.out_class,
            self._kmap_out,
            self._rank,
            scratch[2],
        )
        res = self._sparse(txs, outs, kinds, self._kmap_out, top)
        region, tv, hops = res[0], res[2], res[3]
        land = np.flatnonzero(((self.out_class[region] & k.FLAGGED) != 0) & (hops >= 0))
        value = int(g.out_value[outs].sum())
        found = self._blank(subject, "out", value, float(tv[land].sum()))
        if self.model == "poison":
            found.fraction = 1.0 if found.tainted_value > 0 else 0.0
        if land.size:
            found.min_hops = int(hops[land].min())
        land_units, land_tv = self._out_unit[region[land]], tv[land]

        def measure(groups: list[set[int]]) -> list[float]:
            return [float(land_tv[np.isin(land_units, list(u))].sum()) for u in groups]

        self._breakdown(found, region[land], measure)
        stops = np.flatnonzero((self.out_class[region] == k.STOP) & (tv > 0))
        by_output = dict(zip(region[stops].tolist(), tv[stops].tolist(), strict=True))
        self._stopped(found, region[stops], by_output)
        found.paths = self._paths(res, land.tolist(), top)
        return found

    def _blank(self, subject: str, direction: Direction, value: int, tainted: float) -> Exposure:
        fraction = tainted / value if value > 0 else 0.0
        return Exposure(
            subject,
            direction,
            self.model,
            self.hops_limit,
            value,
            tainted,
            fraction,
            None,
        )

    def _breakdown(
        self, found: Exposure, flagged: np.ndarray, measure: Callable[[list[set[int]]], list[float]]
    ) -> None:
        """The breakdown over the units of the ``flagged`` outputs (see ``fill_breakdown``)."""
        fill_breakdown(found, self._index, {int(u) for u in self._out_unit[flagged]}, measure)

    def _stopped(
        self, found: Exposure, outs: np.ndarray, tainted: np.ndarray | dict[int, float]
    ) -> None:
        """Append the stop outputs among ``outs`` (not flagged ones) with their taint."""
        outs = np.asarray(outs, np.int64)
        for o in np.unique(outs[self.out_class[outs] == k.STOP]).tolist():
            flags = self.unit_stops.get(int(self._out_unit[o]), [])
            found.stopped.append(
                {
                    **self._where(o),
                    "label": flags[0].label if flags else "",
                    "tainted_value": float(tainted[o]),
                }
            )

    def _where(self, o: int) -> OutputPlace:
        g = self.graph
        assert self._out_tx is not None
        return {
            "txid": g.txid(int(self._out_tx[o])),
            "output_index": int(g.out_index[o]),
            "address": g.address(int(g.out_address[o])),
        }

    def _paths(self, res: tuple[np.ndarray, ...], targets: list[int], top: int) -> list[Path]:
        """The ``top`` best evidence paths into ``targets`` (local slots of a sparse run)."""
        if top <= 0:
            return []
        outs, pval, pprev, prank, pcount = res[0], res[5], res[6], res[7], res[8]
        ends = [(float(pval[s, r]), s, r) for s in targets for r in range(int(pcount[s]))]
        ends.sort(key=lambda e: (-e[0], e[1], e[2]))
        self._structure()
        found = []
        for value, s, r in ends[:top]:
            chain = []
            while s >= 0:
                chain.append(self._step(int(outs[s])))
                s, r = int(pprev[s, r]), int(prank[s, r])
            chain.reverse()
            found.append(Path(value, len(chain) - 1, chain))
        return found

    def _step(self, o: int) -> Step:
        where = self._where(o)
        unit = int(self._out_unit[o])
        tags = [f.label for f in self.unit_flags.get(unit, []) + self.unit_stops.get(unit, [])]
        return Step(
            where["txid"],
            where["output_index"],
            where["address"],
            tags,
            int(self.graph.out_value[o]),
        )
