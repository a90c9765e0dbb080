"""The windowed typologies (5 pass_through, 6 structuring, 9 jurisdiction_mismatch) in bulk:
numpy over an Arrow table of events, one pass per rule, no Python loop over events.

The input is the *event export* (``EXPORT_SCHEMA``, also what the Spark job reads from
Parquet): one row per event, ``seq`` the order the events were stored and evaluated in. The
result is one row per finding: the rule, the event it fires on, the subject and the parts of
its evidence key — the same findings the rules' real-time ``evaluate`` gives when each event is
evaluated against the history stored before it (docs/backtest.md; proved by
tests/test_backtest.py).

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
    "Hit",
    "evaluate_windowed",
    "hits_table",
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


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (nulls: -1) and the distinct values."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(encoded.indices.is_null().to_numpy(zero_copy_only=False), -1, codes)
    return codes.astype(np.int64), encoded.dictionary.to_pylist()


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


def _amounts(
    assets: np.ndarray, amounts: pa.Array, extra: dict[int, Decimal] | None = None
) -> tuple[np.ndarray, dict[int, int]]:
    """Exact integer amounts per row at their asset's scale, and {asset code: places}.
    ``extra`` (thresholds) must be exact at the same scale."""
    places: dict[int, int] = {}
    parts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for code in np.unique(assets).tolist():
        rows = np.flatnonzero(assets == code)
        sub = amounts.take(pa.array(rows))
        need = _places(extra[code]) if extra and code in extra else 0
        places[code] = max(_decimals(sub), need)
        parts[code] = (rows, _scaled(sub, places[code]))
    as_object = any(v.dtype == object for _, v in parts.values())
    out = np.zeros(len(assets), dtype=object if as_object else np.int64)
    for rows, values in parts.values():
        out[rows] = values
    return out, places


def _mask(column: pa.ChunkedArray, *values: str) -> np.ndarray:
    """A boolean array: the column is one of ``values`` (null: False)."""
    found = pc.is_in(column, value_set=pa.array(values, type=column.type))
    return _np(pc.fill_null(found, False)).astype(bool)


def _group_order(*keys: np.ndarray) -> np.ndarray:
    """Positions sorted by the keys (last key most significant), then by position: the rows
    are in ``seq`` order, which stays the order within a group."""
    n = len(keys[0])
    return np.lexsort((np.arange(n), *keys))


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


def _times(rows: pa.Table) -> np.ndarray:
    return _np(rows["time"].cast(pa.int64())).astype(np.int64)


def _strings(rows: pa.Table, name: str, at: np.ndarray) -> list[Any]:
    column = rows[name].combine_chunks()
    return column.take(pa.array(at, type=pa.int64())).to_pylist()


def _pass_through(table: pa.Table, rule: PassThrough) -> list[Hit]:
    rows = table.filter(pa.array(_mask(table["type"], "deposit", "withdrawal")))
    if rows.num_rows == 0:
        return []
    customers, _ = _codes(rows["customer_id"])
    assets, _ = _codes(rows["asset"])
    order = _group_order(assets, customers)
    rows = rows.take(pa.array(order))
    customers, assets = customers[order], assets[order]
    times = _times(rows)
    amounts, _ = _amounts(assets, rows["amount"].combine_chunks())
    out = _mask(rows["type"], "withdrawal")
    forwarded = np.cumsum(np.where(out, amounts, 0).astype(amounts.dtype))
    fraction = Fraction(rule.min_fraction)
    deposits = np.flatnonzero(~out & (amounts > 0))
    if len(deposits) == 0:
        return []
    need = (amounts[deposits] * fraction.numerator + fraction.denominator - 1) // (
        fraction.denominator
    )
    target = forwarded[deposits] + need
    if forwarded.dtype == object:
        at = np.array([int(np.searchsorted(forwarded, v, side="left")) for v in target])
    else:
        at = np.searchsorted(forwarded, target.astype(np.int64), side="left")
    inside = at < len(forwarded)
    at = np.minimum(at, len(forwarded) - 1)
    same = (customers[at] == customers[deposits]) & (assets[at] == assets[deposits])
    fire = inside & same & (times[at] <= times[deposits] + _us(rule.window))
    d, w = deposits[fire], at[fire]
    cids = _strings(rows, "customer_id", w)
    return [
        Hit(rule.id, wid, cid, cid, (cid, did))
        for wid, cid, did in zip(
            _strings(rows, "event_id", w), cids, _strings(rows, "event_id", d), strict=True
        )
    ]


def _structuring(table: pa.Table, rule: Structuring) -> list[Hit]:
    if not rule.thresholds:
        return []
    wanted = _mask(table["type"], "withdrawal", "fiat_out")
    wanted &= _mask(table["asset"], *sorted(rule.thresholds))
    rows = table.filter(pa.array(wanted))
    if rows.num_rows == 0:
        return []
    customers, _ = _codes(rows["customer_id"])
    assets, names = _codes(rows["asset"])
    limits = {i: rule.thresholds[str(n)] for i, n in enumerate(names)}
    amounts, places = _amounts(assets, rows["amount"].combine_chunks(), limits)
    by_asset = np.array(
        [int(limits[a] * 10 ** places.get(a, 0)) for a in range(len(names))], dtype=object
    )
    threshold = by_asset[assets]
    if amounts.dtype != object:
        threshold = threshold.astype(np.int64)
    small = amounts < threshold
    order = _group_order(assets[small], customers[small])
    keep = np.flatnonzero(small)[order]
    if len(keep) == 0:
        return []
    rows = rows.take(pa.array(keep))
    customers, assets, amounts, threshold = (
        customers[keep],
        assets[keep],
        amounts[keep],
        threshold[keep],
    )
    times = _times(rows)
    groups = customers * (int(assets.max()) + 1) + assets
    start = _window_start(groups, times, _us(rule.window))
    position = np.arange(len(keep))
    running = np.cumsum(amounts)
    before = np.where(start > 0, running[np.maximum(start - 1, 0)], 0)
    total = running - before
    fire = (position - start + 1 >= rule.min_count) & (total > threshold)
    i, j = position[fire], start[fire]
    return [
        Hit(rule.id, eid, cid, cid, (cid, asset, first))
        for eid, cid, asset, first in zip(
            _strings(rows, "event_id", i),
            _strings(rows, "customer_id", i),
            _strings(rows, "asset", i),
            _strings(rows, "event_id", j),
            strict=True,
        )
    ]


def _jurisdiction(table: pa.Table, rule: JurisdictionMismatch) -> list[Hit]:
    rows = table.filter(pa.array(_mask(table["type"], "login", "customer")))
    if rows.num_rows == 0:
        return []
    customers, _ = _codes(rows["customer_id"])
    order = _group_order(customers)
    rows = rows.take(pa.array(order))
    customers = customers[order]
    n = rows.num_rows
    times = _times(rows)
    is_record = _mask(rows["type"], "customer")
    is_login = ~is_record
    risk = sorted(rule.risk)
    bit = {c: 1 << i for i, c in enumerate(risk)}

    # The latest customer record up to each row, in the same customer.
    position = np.arange(n)
    last = np.maximum.accumulate(np.where(is_record, position, -1))
    last_c = np.maximum(last, 0)
    declared_codes, declared_names = _codes(rows["declared"])
    has = (last >= 0) & (customers[last_c] == customers)
    declared = np.where(has, declared_codes[last_c], -1)
    has &= declared >= 0

    record_bits = np.zeros(n, dtype=np.int64)
    listed_codes, listed_names = _codes(rows["record_countries"])
    listed_bits = np.array(
        [sum(bit.get(c, 0) for c in set(str(v).split(","))) for v in listed_names] + [0],
        dtype=np.int64,
    )
    record_bits = np.where(is_record, listed_bits[listed_codes], 0)
    mask = np.where(has, record_bits[last_c], 0).astype(np.int64)

    start = _window_start(customers, times, _us(rule.window))
    for c in risk:
        seen = np.cumsum(is_login & _mask(rows["ip_country"], c))
        before = np.where(start > 0, seen[np.maximum(start - 1, 0)], 0)
        mask |= np.where(seen - before > 0, bit[c], 0).astype(np.int64)
    own_bits = np.array([bit.get(str(d), 0) for d in declared_names] + [0], dtype=np.int64)
    mask &= ~own_bits[declared]
    at = np.flatnonzero(has & (mask != 0))
    return [
        Hit(
            rule.id,
            eid,
            cid,
            cid,
            (cid, str(declared_names[int(d)]), *[c for c in risk if int(m) & bit[c]]),
        )
        for eid, cid, d, m in zip(
            _strings(rows, "event_id", at),
            _strings(rows, "customer_id", at),
            declared[at].tolist(),
            mask[at].tolist(),
            strict=True,
        )
    ]


_KERNELS: dict[str, Callable[[pa.Table, Any], list[Hit]]] = {
    "pass_through": _pass_through,
    "structuring": _structuring,
    "jurisdiction_mismatch": _jurisdiction,
}


def evaluate_windowed(table: pa.Table, rules: list[Any]) -> list[Hit]:
    """The findings of the windowed ``rules`` (enabled ones) over the event export ``table``
    (rows in ``seq`` order), sorted by rule then event order."""
    table = table.sort_by("seq") if table.num_rows else table
    hits: list[Hit] = []
    for rule in rules:
        kernel = _KERNELS.get(rule.id)
        if kernel is not None and rule.config.enabled:
            hits += kernel(table, rule)
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
