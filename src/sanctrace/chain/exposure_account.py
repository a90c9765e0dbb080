"""Exposure on account chains (ETH/ERC-20, TRON/TRC-20): taint per token, in time order.

Each token is its own ledger. Transfers are taken in the ``AccountGraph``'s order (time, then
block number, then log index). Flagged addresses are sources from the start, with fraction 1:

* **poison** — an address is tainted from its first receipt of a positive amount from a
  tainted address; every later transfer it sends is fully tainted;
* **haircut** — each address keeps tainted received / total received; every transfer it sends
  carries its sender's fraction at that moment.

There is no hop limit on account chains (``Exposure.hops_limit`` is -1); ``min_hops`` is the
smallest number of transfers from a source. Stop addresses receive taint but pass none on
unless ``propagate_stops``. Directions: *in* is what the address received; *out* runs the same
model with the subject as the only source and flagged addresses terminal, and measures what
lands on flagged addresses, out of what the subject sent. See ``docs/exposure.md``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sanctrace.chain import _taint as k
from sanctrace.chain._exposure_records import (
    Direction,
    Exposure,
    ExposureError,
    Path,
    Step,
    UnknownSubject,
    fill_breakdown,
)
from sanctrace.chain._taint_account import account_sweep
from sanctrace.chain.addresses import normalise
from sanctrace.chain.exposure_options import ACCOUNT_MODELS, check_options
from sanctrace.chain.flags import Flag, FlagIndex, FlagSet
from sanctrace.chain.graph import AccountGraph

NEVER = np.iinfo(np.int64).max
PATH_EDGE_BUDGET = 20_000  # edges examined per evidence-path search
TABLE_SCHEMA = pa.schema(
    [
        ("address", pa.string()),
        ("token", pa.string()),
        ("received", pa.float64()),
        ("tainted_received", pa.float64()),
        ("fraction", pa.float64()),
        ("first_tainted_time", pa.int64()),
    ]
)


@dataclass
class Ledger:
    """One sweep over one token's transfers (``edges``, time order; per-edge arrays by
    position in ``edges``)."""

    edges: np.ndarray
    kind: np.ndarray
    received: np.ndarray
    tainted: np.ndarray
    first_time: np.ndarray
    hops: np.ndarray
    carried: np.ndarray
    basis: np.ndarray


class AccountExposure:
    """Exposure queries over one ``AccountGraph`` with one ``FlagSet`` and model."""

    def __init__(
        self,
        graph: AccountGraph,
        flags: FlagSet,
        *,
        model: Literal["haircut", "poison"] = "haircut",
        token: str | None = None,
        propagate_stops: bool = False,
    ) -> None:
        check_options(model, models=ACCOUNT_MODELS)
        self.graph, self.flags, self.model, self.token = graph, flags, model, token
        self.propagate_stops = propagate_stops
        if token is None:
            self._tokens = list(range(len(graph.tokens)))
        else:
            found = graph.tokens.id_of(token)
            if found < 0:
                raise UnknownSubject(f"token: no transfers of token {token!r}")
            self._tokens = [found]
        self._edges = {t: np.flatnonzero(graph.token == t) for t in self._tokens}
        self.addr_flags = self._ids(flags.flagged)
        self.addr_stops = self._ids(flags.stops)
        self._index = FlagIndex(self.addr_flags)
        self._flagged = self._mask(self.addr_flags)
        self._stop = self._mask(self.addr_stops) & ~self._flagged
        self._bulk: dict[int, Ledger] = {}

    def _ids(self, flagged: dict[str, list[Flag]]) -> dict[int, list[Flag]]:
        found: dict[int, list[Flag]] = {}
        for key, flags in flagged.items():
            ident = self.graph.addresses.id_of(key)
            if ident < 0 and self.graph.chain:
                ident = self.graph.addresses.id_of(normalise(self.graph.chain, key))
            if ident >= 0:
                bucket = found.setdefault(ident, [])
                bucket.extend(f for f in flags if f not in bucket)
        return found

    def _mask(self, ids: dict[int, list[Flag]]) -> np.ndarray:
        mask = np.zeros(self.graph.n_addresses, bool)
        mask[list(ids)] = True
        return mask

    # ---- sweeps
    def _sweep(self, token: int, sources: np.ndarray, terminal: np.ndarray) -> Ledger:
        g, n = self.graph, self.graph.n_addresses
        edges = self._edges[token]
        kind = np.where(sources, k.SOURCE, np.where(terminal, k.TERMINAL, k.NORMAL))
        ledger = Ledger(
            edges,
            kind.astype(np.uint8),
            np.zeros(n),
            np.zeros(n),
            np.full(n, NEVER, np.int64),
            np.where(sources, 0, -1).astype(np.int64),
            np.zeros(len(edges)),
            np.zeros(len(edges)),
        )
        account_sweep(
            edges,
            self.model == "poison",
            g.src,
            g.dst,
            g.amount,
            g.time,
            ledger.kind,
            ledger.received,
            ledger.tainted,
            ledger.first_time,
            ledger.hops,
            ledger.carried,
            ledger.basis,
        )
        return ledger

    def _stops_terminal(self) -> np.ndarray:
        return self._stop if not self.propagate_stops else np.zeros_like(self._stop)

    def ledger(self, token: int) -> Ledger:
        """The bulk in-direction sweep of one token (cached)."""
        if token not in self._bulk:
            self._bulk[token] = self._sweep(token, self._flagged, self._stops_terminal())
        return self._bulk[token]

    # ---- queries
    def tokens_of(self, address: str) -> list[str]:
        """The tokens (``""`` = native coin) in which ``address`` sent or received."""
        a = self._address(address)
        edges = np.concatenate([self.graph.out_edges_of(a), self.graph.in_edges_of(a)])
        used = set(np.unique(self.graph.token[edges]).tolist()) & set(self._tokens)
        return [self.graph.tokens.string(t) for t in sorted(used)]

    def _address(self, address: str) -> int:
        try:
            return self.graph.address_id(address)
        except KeyError:
            raise UnknownSubject(f"address: unknown address {address}") from None

    def address(
        self, address: str, direction: Direction = "in", token: str | None = None, paths: int = 5
    ) -> Exposure:
        """The exposure of ``address`` in one token: ``token``, else the engine's token, else
        the only token the address used (an ``ExposureError`` names them when several)."""
        check_options(direction=direction)
        a = self._address(address)
        if token is None:
            used = self.tokens_of(address)
            if len(used) > 1:
                raise ExposureError(
                    f"address {address} has transfers in {len(used)} tokens "
                    f"({', '.join(repr(u) for u in used)}): name one"
                )
            token = used[0] if used else (self.token or "")
        t = self.graph.tokens.id_of(token)
        if t not in self._edges:
            raise UnknownSubject(f"token: no transfers of token {token!r}")
        subject = f"address:{self.graph.address(a)}"
        if direction == "in":
            return self._in(subject, a, t, paths)
        return self._out(subject, a, t, paths)

    def _exact(self, edges: np.ndarray) -> int:
        """The exact sum of the amounts of ``edges`` (decimal strings)."""
        if not len(edges):
            return 0
        amounts = self.graph.transfers.column("amount").take(pa.array(edges))
        try:
            return int(pc.sum(pc.cast(amounts, pa.decimal256(76, 0))).as_py() or 0)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # beyond 76 digits
            return sum(int(x) for x in amounts.to_pylist())

    def _in(self, subject: str, a: int, t: int, top: int) -> Exposure:
        g = self.graph
        ledger = self.ledger(t)
        into = g.in_edges_of(a)
        value = self._exact(into[g.token[into] == t])
        tainted, received = float(ledger.tainted[a]), float(ledger.received[a])
        if self._flagged[a]:
            tainted = received
        found = Exposure(
            subject,
            "in",
            self.model,
            -1,
            value,
            tainted,
            tainted / received if received > 0 else float(self._flagged[a]),
            0 if self._flagged[a] else _hop(ledger.hops[a]),
        )
        senders = np.unique(g.src[into[g.token[into] == t]])
        for s in senders[self._stop[senders] & (ledger.tainted[senders] > 0)].tolist():
            found.stopped.append(self._stop_row(s, float(ledger.tainted[s])))
        if tainted <= 0 or self._flagged[a]:
            if self._flagged[a]:
                self._groups(found, [a], lambda units: [tainted] * len(units))
            return found

        def measure(groups: list[set[int]]) -> list[float]:
            values = []
            for units in groups:
                sources = np.zeros(g.n_addresses, bool)
                sources[list(units)] = True
                values.append(float(self._sweep(t, sources, self._stop_mask(sources)).tainted[a]))
            return values

        ends = self._ends(ledger, lambda e: int(g.dst[e]) == a)
        needed, _ = self._backward(ledger, ends, None, through_sources=True)
        sender_ids = {int(g.src[ledger.edges[j]]) for j in needed}
        self._groups(found, sorted(x for x in sender_ids if self._flagged[x]), measure)
        found.paths = self._paths(ledger, ends, top)
        return found

    def _stop_mask(self, sources: np.ndarray) -> np.ndarray:
        """Terminal addresses of a run with only ``sources`` flagged: the stops, and the other
        flagged addresses that are stops too."""
        stops = self._mask(self.addr_stops)
        return (stops & ~sources) if not self.propagate_stops else np.zeros_like(stops)

    def _out(self, subject: str, a: int, t: int, top: int) -> Exposure:
        g = self.graph
        sources = np.zeros(g.n_addresses, bool)
        sources[a] = True
        terminal = (self._flagged | self._stops_terminal()) & ~sources
        ledger = self._sweep(t, sources, terminal)
        sent = g.out_edges_of(a)
        value = self._exact(sent[g.token[sent] == t])
        landing = np.flatnonzero(self._flagged & ~sources & (ledger.tainted > 0))
        if self._flagged[a]:
            landing = np.append(landing, a)
        amounts = {int(x): float(ledger.tainted[x]) for x in landing.tolist()}
        if self._flagged[a]:
            amounts[a] = float(value)
        tainted = float(sum(amounts.values()))
        fraction = tainted / value if value > 0 else 0.0
        if self.model == "poison":
            fraction = 1.0 if tainted > 0 else 0.0
        hops = [0 if x == a else int(ledger.hops[x]) for x in amounts]
        found = Exposure(
            subject, "out", self.model, -1, value, tainted, fraction, min(hops) if hops else None
        )
        self._groups(
            found,
            list(amounts),
            lambda groups: [sum(v for x, v in amounts.items() if x in units) for units in groups],
        )
        for s in np.flatnonzero(self._stop & (ledger.tainted > 0)).tolist():
            found.stopped.append(self._stop_row(s, float(ledger.tainted[s])))
        ends = self._ends(ledger, lambda e: bool(self._flagged[g.dst[e]]))
        found.paths = self._paths(ledger, ends, top)
        return found

    def _groups(
        self, found: Exposure, flagged: list[int], measure: Callable[[list[set[int]]], list[float]]
    ) -> None:
        """Fill ``by_category`` and ``by_entity`` (see ``fill_breakdown``)."""
        fill_breakdown(found, self._index, flagged, measure)

    def _stop_row(self, s: int, tainted: float) -> dict[str, Any]:
        flags = self.addr_stops.get(s, [])
        return {
            "txid": None,
            "output_index": None,
            "address": self.graph.address(s),
            "label": flags[0].label if flags else "",
            "tainted_value": tainted,
        }

    # ---- evidence paths
    def _ends(self, ledger: Ledger, is_target: Callable[[int], bool]) -> list[int]:
        """Positions of the tainted transfers into a target."""
        tainted = np.flatnonzero(ledger.carried > 0).tolist()
        return [j for j in tainted if is_target(int(ledger.edges[j]))]

    def _backward(
        self, ledger: Ledger, ends: list[int], budget: int | None, through_sources: bool = False
    ) -> tuple[set[int], dict[int, list[int]]]:
        """The tainted transfers that can lead, in time order, into ``ends`` (positions), and
        the tainted receipts per address; the walk stops at sources unless
        ``through_sources`` (which finds every flagged address upstream)."""
        g = self.graph
        tainted_in: dict[int, list[int]] = {}  # receiver -> positions of tainted receipts
        for j in np.flatnonzero(ledger.carried > 0).tolist():
            tainted_in.setdefault(int(g.dst[ledger.edges[j]]), []).append(j)
        needed, stack = set(ends), list(ends)
        while stack and (budget is None or len(needed) < budget):
            j = stack.pop()
            s = int(g.src[ledger.edges[j]])
            if ledger.kind[s] == k.SOURCE and not through_sources:
                continue
            for i in tainted_in.get(s, []):
                if i < j and i not in needed:
                    needed.add(i)
                    stack.append(i)
        return needed, tainted_in

    def _paths(self, ledger: Ledger, ends: list[int], top: int) -> list[Path]:
        """The ``top`` best chains of tainted transfers from a source into ``ends``.

        A chain's value is the taint it carries: haircut splits a sender's outgoing taint over
        its earlier receipts in proportion (so all chains into a target sum to its tainted
        receipts); poison takes the smallest amount along the chain.
        """
        if top <= 0 or not ends:
            return []
        g = self.graph
        needed, tainted_in = self._backward(ledger, ends, PATH_EDGE_BUDGET)
        best: dict[int, list[tuple[float, tuple[int, ...]]]] = {}
        for j in sorted(needed):
            e = int(ledger.edges[j])
            s, carried = int(g.src[e]), float(ledger.carried[j])
            if ledger.kind[s] == k.SOURCE:
                best[j] = [(carried, (j,))]
                continue
            options = []
            share = float(g.amount[e]) / ledger.basis[j] if ledger.basis[j] > 0 else 0.0
            for i in tainted_in.get(s, []):
                if i >= j or i not in best:
                    continue
                for value, chain in best[i]:
                    v = min(value, carried) if self.model == "poison" else value * share
                    options.append((v, (*chain, j)))
            best[j] = heapq.nlargest(top, options, key=lambda o: o[0])
        chains = heapq.nlargest(top, (o for j in ends for o in best.get(j, [])), key=lambda o: o[0])
        found = []
        for value, chain in chains:
            first = int(ledger.edges[chain[0]])
            steps = [self._step(first, int(g.src[first]))]
            steps += [self._step(int(ledger.edges[j]), int(g.dst[ledger.edges[j]])) for j in chain]
            found.append(Path(float(value), len(chain), steps))
        return found

    def _step(self, e: int, who: int) -> Step:
        """Address ``who`` on a chain, with transfer ``e`` (the one that paid it; for the
        source, the one it sent)."""
        g = self.graph
        row = g.transfers.slice(e, 1).to_pylist()[0]
        tags = [f.label for f in self.addr_flags.get(who, []) + self.addr_stops.get(who, [])]
        log = row.get("log_index")
        return Step(
            str(row.get("tx_hash") or ""),
            -1 if log is None else int(log),
            g.address(who),
            tags,
            g.exact_amount(e),
        )

    # ---- bulk output
    def table(self) -> pa.Table:
        """One row per (tainted or flagged address, token), tokens in id order, addresses in
        id order; ``first_tainted_time`` is null for flagged addresses (tainted throughout)."""
        g = self.graph
        parts = []
        for t in self._tokens:
            ledger = self.ledger(t)
            active = np.zeros(g.n_addresses, bool)
            edges = ledger.edges
            active[g.src[edges]] = True
            active[g.dst[edges]] = True
            rows = np.flatnonzero(active & (self._flagged | (ledger.tainted > 0)))
            flagged = self._flagged[rows]
            received = ledger.received[rows]
            tainted = np.where(flagged, received, ledger.tainted[rows])
            with np.errstate(invalid="ignore", divide="ignore"):
                fraction = np.where(received > 0, tainted / received, 0.0)
            fraction[flagged] = 1.0
            first = ledger.first_time[rows]
            names = [g.address(int(x)) for x in rows.tolist()]
            parts.append(
                pa.Table.from_arrays(
                    [
                        pa.array(names, pa.string()),
                        pa.array([g.tokens.string(t)] * len(rows), pa.string()),
                        pa.array(received),
                        pa.array(tainted),
                        pa.array(fraction),
                        pa.array(first, pa.int64(), mask=flagged | (first == NEVER)),
                    ],
                    schema=TABLE_SCHEMA,
                )
            )
        return pa.concat_tables(parts) if parts else TABLE_SCHEMA.empty_table()


def warm_up() -> float:
    """Compile (or load from numba's cache) the account kernel on a tiny ledger; the seconds."""
    import time

    start = time.perf_counter()
    table = pa.table(
        {
            "token": ["", ""],
            "sender": ["x", "a"],
            "receiver": ["a", "b"],
            "amount": ["2", "1"],
            "time": [1, 2],
        }
    )
    flags = FlagSet({"x": [Flag("sanctioned", None, "x")]})
    for model in ("haircut", "poison"):
        AccountExposure(AccountGraph.from_table(table), flags, model=model).address("b")
    return time.perf_counter() - start


def _hop(value: int) -> int | None:
    return int(value) if value >= 0 else None
