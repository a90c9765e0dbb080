"""The windowed typologies (5 pass_through, 6 structuring, 9 jurisdiction_mismatch) in bulk:
numpy over an Arrow table of events, no Python loop over events or findings.

The input is the *event export* (``EXPORT_SCHEMA``, also what the Spark job reads from
Parquet): one row per event, ``seq`` the order the events were stored and evaluated in. The
export is prepared once for all the rules (``Prepared``): customers, assets and types
dictionary-encoded, the rows sorted once by (customer, asset, seq), exact amounts scaled once;
each rule then takes its rows from that order. The result of a rule is a ``Findings``: arrays
(the event each finding fires on, its subject and the parts of its evidence key) in event
order — the same findings the rules' real-time ``evaluate`` gives when each event is evaluated
against the history stored before it (docs/backtest.md; proved by tests/test_backtest.py).
Python objects (``Hit``) are built only when asked for (``Findings.hits``); the backtest
compares the findings through ``Findings.keys`` (vectorised) and builds objects only for the
alerts that appear or disappear.

Amounts are exact: each asset's decimal strings become integers at the asset's largest number
of decimals (through Arrow's decimal128), Python integers when a sum could pass int64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sanctrace.monitor.rules.base import evidence_key
from sanctrace.monitor.rules.jurisdiction_mismatch import JurisdictionMismatch
from sanctrace.monitor.rules.pass_through import PassThrough
from sanctrace.monitor.rules.structuring import Structuring

__all__ = [
    "EXPORT_SCHEMA",
    "HIT_SCHEMA",
    "WINDOWED",
    "Findings",
    "Hit",
    "Prepared",
    "evaluate_windowed",
    "hits_table",
    "windowed_findings",
]

WINDOWED = ("pass_through", "structuring", "jurisdiction_mismatch")

# The event export: what the columnar backtest and the Spark job read.
EXPORT_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),  # the order events were stored in: time, then arrival
        ("event_id", pa.string()),
        ("type", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("customer_id", pa.string()),
        ("asset", pa.string()),  # upper case; fiat: the currency
        ("amount", pa.string()),  # the exact decimal string
        ("address", pa.string()),
        ("ip_country", pa.string()),  # login: the IP's country (the database in force)
        ("declared", pa.string()),  # customer: residence, else address country
        ("record_countries", pa.string()),  # customer: phone and document countries, "JP,RU"
    ]
)

HIT_SCHEMA = pa.schema(
    [
        ("rule", pa.string()),
        ("event_id", pa.string()),
        ("customer_id", pa.string()),
        ("subject", pa.string()),
        ("key_parts", pa.list_(pa.string())),
    ]
)

# Event types as small integers (0: any other type).
_CUSTOMER, _LOGIN, _DEPOSIT, _WITHDRAWAL, _FIAT_OUT = 1, 2, 3, 4, 5
_TYPES = {
    "customer": _CUSTOMER,
    "login": _LOGIN,
    "deposit": _DEPOSIT,
    "withdrawal": _WITHDRAWAL,
    "fiat_out": _FIAT_OUT,
}


@dataclass(frozen=True)
class Hit:
    """One finding of the bulk evaluation."""

    rule: str
    event_id: str
    customer_id: str
    subject: str
    key_parts: tuple[str, ...]

    @property
    def evidence_key(self) -> str:
        return evidence_key(*self.key_parts)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.subject, self.evidence_key)


def _us(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _np(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.to_numpy(zero_copy_only=False)


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (nulls: -1) and the distinct values."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    codes = _np(encoded.indices.fill_null(-1)).astype(np.int64)
    return codes, encoded.dictionary.to_pylist()


def _lookup(codes: np.ndarray, table: list[int], *, dtype: Any = np.int64) -> np.ndarray:
    """``table[code]`` per row, 0 for the null code -1."""
    return np.array([*table, 0], dtype=dtype)[codes]


def _decimals(amounts: pa.Array) -> int:
    """The largest number of digits after the point."""
    if len(amounts) == 0:
        return 0
    length = pc.utf8_length(amounts)
    point = pc.find_substring(amounts, ".")
    places = pc.if_else(pc.less(point, 0), 0, pc.subtract(pc.subtract(length, point), 1))
    found = pc.max(places).as_py()
    return int(found or 0)


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _scaled(amounts: pa.Array, places: int) -> np.ndarray:
    """The amounts as integers in units of 10**-places (int64, else Python ints)."""
    if len(amounts) == 0:
        return np.zeros(0, dtype=np.int64)
    if places <= 18:
        dec = pc.cast(amounts, pa.decimal128(38, places))
        words = np.frombuffer(dec.buffers()[1], dtype=np.int64)
        words = words[2 * dec.offset : 2 * (dec.offset + len(dec))].reshape(-1, 2)
        low, high = words[:, 0], words[:, 1]
        if np.all(high == 0) and np.all(low >= 0):
            total = float(low.sum(dtype=np.float64))
            if total < 2**62:
                return low.copy()
    scale = Decimal(10) ** places
    return np.array([int(Decimal(s) * scale) for s in amounts.to_pylist()], dtype=object)


class Prepared:
    """The export sorted by ``seq``, encoded once for all the windowed rules: type, customer and
    asset codes, times in microseconds, the rows in (customer, asset, seq) order, and the exact
    amounts of the money events (scaled per asset, at least to the thresholds' places)."""

    def __init__(self, table: pa.Table, thresholds: dict[str, Decimal] | None = None) -> None:
        if table.num_rows:
            seq = _np(table["seq"])
            if len(seq) > 1 and not bool(np.all(seq[1:] > seq[:-1])):
                table = table.sort_by("seq")
        self.table = table
        self._columns: dict[str, pa.Array] = {}
        self.n = n = table.num_rows
        type_codes, type_names = _codes(table["type"])
        self.types = _lookup(type_codes, [_TYPES.get(str(t), 0) for t in type_names], dtype=np.int8)
        self.customers, _ = _codes(table["customer_id"])
        self.assets, self.asset_names = _codes(table["asset"])
        self.times = _np(table["time"].cast(pa.int64())).astype(np.int64)
        width = np.int64(len(self.asset_names) + 1)
        group = (self.customers + 1) * width + (self.assets + 1)
        self.order = np.argsort(group, kind="stable") if n else np.zeros(0, dtype=np.int64)
        self.thresholds = dict(thresholds or {})
        self.amounts, self.places = self._amounts(self.thresholds)

    def _amounts(self, thresholds: dict[str, Decimal]) -> tuple[np.ndarray, dict[int, int]]:
        money = np.isin(self.types, (_DEPOSIT, _WITHDRAWAL, _FIAT_OUT))
        rows_all = np.flatnonzero(money)
        places: dict[int, int] = {}
        if len(rows_all) == 0:
            return np.zeros(self.n, dtype=np.int64), places
        column = self.column("amount")
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        assets = self.assets[rows_all]
        for code in np.unique(assets).tolist():
            rows = rows_all[assets == code]
            sub = column.take(pa.array(rows))
            name = self.asset_names[code] if code >= 0 else None
            need = _places(thresholds[name]) if name in thresholds else 0
            places[code] = max(_decimals(sub), need)
            parts.append((rows, _scaled(sub, places[code])))
        as_object = any(v.dtype == object for _, v in parts)
        if not as_object:
            total = sum(float(np.abs(v).sum(dtype=np.float64)) for _, v in parts)
            as_object = total >= 2**62
        out = np.zeros(self.n, dtype=object if as_object else np.int64)
        for rows, values in parts:
            out[rows] = values
        return out, places

    def column(self, name: str) -> pa.Array:
        if name not in self._columns:
            self._columns[name] = self.table[name].combine_chunks()
        return self._columns[name]

    def grouped(self, wanted: np.ndarray) -> np.ndarray:
        """The rows where ``wanted``, in (customer, asset, seq) order."""
        return self.order[wanted[self.order]]


@dataclass(frozen=True)
class Findings:
    """One rule's findings as arrays, in event order: the rows of the (``seq``-sorted) export
    they fire on, and the parts of their evidence keys after the customer id — ``parts``
    (string arrays), then for jurisdiction_mismatch the countries in ``bits`` whose bit is set
    in ``mask``. The subject is the customer id."""

    rule: str
    prepared: Prepared
    rows: np.ndarray
    parts: tuple[pa.Array, ...]
    mask: np.ndarray | None = None
    bits: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.rows)

    def _at(self, name: str) -> pa.Array:
        return self.prepared.column(name).take(pa.array(self.rows, type=pa.int64()))

    @property
    def customer_id(self) -> pa.Array:
        return self._at("customer_id")

    @property
    def event_id(self) -> pa.Array:
        return self._at("event_id")

    @property
    def time(self) -> pa.Array:
        return self._at("time")

    @property
    def times(self) -> np.ndarray:
        return self.prepared.times[self.rows]

    def take(self, at: np.ndarray) -> Findings:
        """The findings at positions ``at`` (in that order)."""
        index = pa.array(at, type=pa.int64())
        return Findings(
            self.rule,
            self.prepared,
            self.rows[at],
            tuple(p.take(index) for p in self.parts),
            None if self.mask is None else self.mask[at],
            self.bits,
        )

    def _countries(self) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        """Distinct masks as country tuples, and each finding's index into them."""
        assert self.mask is not None
        distinct, inverse = np.unique(self.mask, return_inverse=True)
        names = [
            tuple(c for i, c in enumerate(self.bits) if int(m) >> i & 1) for m in distinct.tolist()
        ]
        return inverse.reshape(-1), names

    def keys(self) -> pa.Array:
        """One string per finding, equal for two findings exactly when their (subject, evidence
        key parts) are: each part as its length, ``:``, the part."""

        def encoded(part: pa.Array) -> pa.Array:
            length = pc.cast(pc.utf8_length(part), pa.string())
            return pc.binary_join_element_wise(length, part, ":")

        pieces = [encoded(self.customer_id), *(encoded(p) for p in self.parts)]
        if self.mask is not None:
            inverse, names = self._countries()
            text = pa.array(["".join(f"{len(c)}:{c}" for c in t) for t in names], pa.string())
            pieces.append(text.take(pa.array(inverse, type=pa.int64())))
        if not pieces[1:]:
            return pieces[0]
        return pc.binary_join_element_wise(*pieces, "")

    def key_parts(self) -> list[tuple[str, ...]]:
        """The evidence key parts of each finding (Python objects)."""
        columns = [self.customer_id.to_pylist(), *(p.to_pylist() for p in self.parts)]
        fixed = list(zip(*columns, strict=True))
        if self.mask is None:
            return fixed
        inverse, names = self._countries()
        return [f + names[i] for f, i in zip(fixed, inverse.tolist(), strict=True)]

    def hits(self) -> list[Hit]:
        cids = self.customer_id.to_pylist()
        return [
            Hit(self.rule, eid, cid, cid, parts)
            for eid, cid, parts in zip(
                self.event_id.to_pylist(), cids, self.key_parts(), strict=True
            )
        ]


def _findings(
    rule: str,
    p: Prepared,
    rows: np.ndarray,
    parts: tuple[np.ndarray | pa.Array, ...] = (),
    mask: np.ndarray | None = None,
    bits: tuple[str, ...] = (),
) -> Findings:
    """Findings in event order; ``parts`` given as rows of ``event_id`` or as arrays."""
    order = np.argsort(rows, kind="stable")
    out: list[pa.Array] = []
    for part in parts:
        if isinstance(part, np.ndarray):
            out.append(p.column("event_id").take(pa.array(part[order], type=pa.int64())))
        else:
            out.append(part.take(pa.array(order, type=pa.int64())))
    return Findings(rule, p, rows[order], tuple(out), None if mask is None else mask[order], bits)


def _window_start(groups: np.ndarray, times: np.ndarray, span: int) -> np.ndarray:
    """For rows sorted by (group, time): the first row of the same group whose time is at or
    after ``time - span``."""
    if len(times) == 0:
        return np.zeros(0, dtype=np.int64)
    distinct = np.unique(times)
    rank = np.searchsorted(distinct, times)
    target = np.searchsorted(distinct, times - span, side="left")
    width = np.int64(len(distinct) + 1)
    key = groups.astype(np.int64) * width + rank
    return np.searchsorted(key, groups.astype(np.int64) * width + target, side="left")


def _group_ids(customers: np.ndarray, assets: np.ndarray) -> np.ndarray:
    """Consecutive group numbers for rows sorted by (customer, asset)."""
    if len(customers) == 0:
        return np.zeros(0, dtype=np.int64)
    change = (customers[1:] != customers[:-1]) | (assets[1:] != assets[:-1])
    return np.concatenate(([0], np.cumsum(change))).astype(np.int64)


def _pass_through(p: Prepared, rule: PassThrough) -> Findings:
    empty = _findings(rule.id, p, np.zeros(0, dtype=np.int64), (np.zeros(0, dtype=np.int64),))
    sel = p.grouped((p.types == _DEPOSIT) | (p.types == _WITHDRAWAL))
    if len(sel) == 0:
        return empty
    customers, assets, times = p.customers[sel], p.assets[sel], p.times[sel]
    amounts = p.amounts[sel]
    out = p.types[sel] == _WITHDRAWAL
    forwarded = np.cumsum(np.where(out, amounts, 0).astype(amounts.dtype))
    fraction = Fraction(rule.min_fraction)
    deposits = np.flatnonzero(~out & (amounts > 0))
    if len(deposits) == 0:
        return empty
    need = (amounts[deposits] * fraction.numerator + fraction.denominator - 1) // (
        fraction.denominator
    )
    target = forwarded[deposits] + need
    if forwarded.dtype == object:
        at = np.array(
            [int(np.searchsorted(forwarded, v, side="left")) for v in target], dtype=np.int64
        )
    else:
        at = np.searchsorted(forwarded, target.astype(np.int64), side="left")
    inside = at < len(forwarded)
    at = np.minimum(at, len(forwarded) - 1)
    same = (customers[at] == customers[deposits]) & (assets[at] == assets[deposits])
    fire = inside & same & (times[at] <= times[deposits] + _us(rule.window))
    return _findings(rule.id, p, sel[at[fire]], (sel[deposits[fire]],))


def _structuring(p: Prepared, rule: Structuring) -> Findings:
    empty = _findings(
        rule.id,
        p,
        np.zeros(0, dtype=np.int64),
        (pa.array([], pa.string()), np.zeros(0, dtype=np.int64)),
    )
    codes = {
        i: rule.thresholds[str(name)]
        for i, name in enumerate(p.asset_names)
        if str(name) in rule.thresholds
    }
    if not codes:
        return empty
    limits = [
        int(codes[i] * 10 ** p.places.get(i, 0)) if i in codes else 0
        for i in range(len(p.asset_names))
    ]
    wanted = ((p.types == _WITHDRAWAL) | (p.types == _FIAT_OUT)) & np.isin(p.assets, list(codes))
    sel = p.grouped(wanted)
    if len(sel) == 0:
        return empty
    amounts = p.amounts[sel]
    threshold = np.array(limits, dtype=object)[p.assets[sel]]
    if amounts.dtype != object:
        threshold = threshold.astype(np.int64)
    small = amounts < threshold
    keep = sel[small]
    if len(keep) == 0:
        return empty
    amounts, threshold = amounts[small], threshold[small]
    groups = _group_ids(p.customers[keep], p.assets[keep])
    start = _window_start(groups, p.times[keep], _us(rule.window))
    position = np.arange(len(keep))
    running = np.cumsum(amounts)
    before = np.where(start > 0, running[np.maximum(start - 1, 0)], 0)
    total = running - before
    fire = (position - start + 1 >= rule.min_count) & (total > threshold)
    i, j = keep[fire], keep[start[fire]]
    return _findings(rule.id, p, i, (p.column("asset").take(pa.array(i)), j))


def _jurisdiction(p: Prepared, rule: JurisdictionMismatch) -> Findings:
    risk = sorted(rule.risk)
    empty = _findings(
        rule.id,
        p,
        np.zeros(0, dtype=np.int64),
        (pa.array([], pa.string()),),
        np.zeros(0, dtype=np.int64),
        tuple(risk),
    )
    wanted = (p.types == _CUSTOMER) | (p.types == _LOGIN)
    sel = p.grouped(wanted)
    if len(sel) == 0:
        return empty
    if np.any(p.assets[sel] != p.assets[sel[0]]):  # group by customer only
        sel = sel[np.argsort(p.customers[sel], kind="stable")]
    customers = p.customers[sel]
    n = len(sel)
    times = p.times[sel]
    is_record = p.types[sel] == _CUSTOMER
    is_login = ~is_record
    bit = {c: 1 << i for i, c in enumerate(risk)}

    # The latest customer record up to each row, in the same customer.
    position = np.arange(n)
    last = np.maximum.accumulate(np.where(is_record, position, -1))
    last_c = np.maximum(last, 0)
    declared_codes, declared_names = _codes(p.column("declared").take(pa.array(sel)))
    has = (last >= 0) & (customers[last_c] == customers)
    declared = np.where(has, declared_codes[last_c], -1)
    has &= declared >= 0

    listed_codes, listed_names = _codes(p.column("record_countries").take(pa.array(sel)))
    listed_bits = _lookup(
        listed_codes, [sum(bit.get(c, 0) for c in set(str(v).split(","))) for v in listed_names]
    )
    record_bits = np.where(is_record, listed_bits, 0)
    mask = np.where(has, record_bits[last_c], 0).astype(np.int64)

    start = _window_start(customers, times, _us(rule.window))
    ip_codes, ip_names = _codes(p.column("ip_country").take(pa.array(sel)))
    ip_bits = np.where(is_login, _lookup(ip_codes, [bit.get(str(c), 0) for c in ip_names]), 0)
    for c in {str(c) for c in ip_names} & set(risk):
        seen = np.cumsum((ip_bits & bit[c]) != 0)
        before = np.where(start > 0, seen[np.maximum(start - 1, 0)], 0)
        mask |= np.where(seen - before > 0, bit[c], 0).astype(np.int64)
    own_bits = np.array([bit.get(str(d), 0) for d in declared_names] + [0], dtype=np.int64)
    mask &= ~own_bits[declared]
    at = np.flatnonzero(has & (mask != 0))
    names = pa.array([str(d) for d in declared_names], pa.string())
    return _findings(
        rule.id,
        p,
        sel[at],
        (names.take(pa.array(declared[at], type=pa.int64())),),
        mask[at],
        tuple(risk),
    )


_KERNELS: dict[str, Callable[[Prepared, Any], Findings]] = {
    "pass_through": _pass_through,
    "structuring": _structuring,
    "jurisdiction_mismatch": _jurisdiction,
}


def _thresholds(rules: list[Any]) -> dict[str, Decimal]:
    """Per asset, the threshold with the most decimals among the structuring rules."""
    found: dict[str, Decimal] = {}
    for rule in rules:
        if isinstance(rule, Structuring):
            for asset, value in rule.thresholds.items():
                if asset not in found or _places(value) > _places(found[asset]):
                    found[asset] = value
    return found


def windowed_findings(
    table: pa.Table | Prepared, rules: list[Any]
) -> tuple[Prepared, list[Findings]]:
    """The findings of the windowed ``rules`` (enabled ones) over the event export ``table``,
    one ``Findings`` per rule in event order; the prepared export can be passed again to
    evaluate more rules (their structuring thresholds must be among those it was prepared
    with)."""
    active = [r for r in rules if r.id in _KERNELS and r.config.enabled]
    need = _thresholds(active)
    if isinstance(table, Prepared):
        prepared = table
        if any(
            _places(value) > prepared.places.get(code, 0)
            for code, name in enumerate(prepared.asset_names)
            if (value := need.get(str(name))) is not None
        ):
            prepared = Prepared(prepared.table, need | prepared.thresholds)
    else:
        prepared = Prepared(table, need)
    return prepared, [_KERNELS[r.id](prepared, r) for r in active]


def evaluate_windowed(table: pa.Table, rules: list[Any]) -> list[Hit]:
    """The findings of the windowed ``rules`` (enabled ones) over the event export ``table``
    (rows in ``seq`` order), sorted by rule then event order, as objects."""
    hits: list[Hit] = []
    for found in windowed_findings(table, rules)[1]:
        hits += found.hits()
    return hits


def hits_table(hits: list[Hit]) -> pa.Table:
    return pa.table(
        {
            "rule": [h.rule for h in hits],
            "event_id": [h.event_id for h in hits],
            "customer_id": [h.customer_id for h in hits],
            "subject": [h.subject for h in hits],
            "key_parts": [list(h.key_parts) for h in hits],
        },
        schema=HIT_SCHEMA,
    )
