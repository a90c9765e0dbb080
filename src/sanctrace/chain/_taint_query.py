"""Compiled taint kernels (numba, ``nogil``) for one subject of ``ExposureEngine``.

* ``cone`` — the tainted ancestor cone of a subject's outputs after the bulk sweep (the
  in-view's region), and ``forward_region`` — the transactions within the hop limit of them
  (the out-view's region), each in topological order;
* ``sparse_sweep`` — the transaction rule over such a region with only given seeds tainted,
  results in local slots, with optional top-k evidence paths;
* ``restricted`` — the tainted value reaching the subject with only one group of the seeds as
  sources, per group (the per-category and per-entity breakdown of the in-view).

Output kinds, class bits and ``kmap`` are those of ``_taint``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sanctrace.chain._taint import (
    FIFO,
    HAIRCUT,
    NO_HOP,
    POISON,
    SOURCE,
    TERMINAL,
    rule_buffers,
    tx_rule,
)

# ------------------------------------------------------------------- regions for one query


@njit(cache=True, nogil=True)
def _append(a: np.ndarray, n: int, x: int) -> tuple[np.ndarray, int]:
    """``a[n] = x``, doubling ``a`` first when it is full: the array and the new count."""
    if n >= a.size:
        grown = np.empty(a.size * 2, a.dtype)
        grown[: a.size] = a
        a = grown
    a[n] = x
    return a, n + 1


@njit(cache=True, nogil=True)
def _by_rank(txs: np.ndarray, rank: np.ndarray, mark_tx: np.ndarray) -> np.ndarray:
    """``txs`` in topological order (by ``rank``), their marks in ``mark_tx`` cleared."""
    keys = np.empty(txs.size, np.int64)
    for j in range(txs.size):
        mark_tx[txs[j]] = 0
        keys[j] = rank[txs[j]]
    return txs[np.argsort(keys)]


@njit(cache=True, nogil=True)
def cone(
    targets: np.ndarray,
    hops_limit: int,
    out_tx: np.ndarray,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    cls: np.ndarray,
    kmap: np.ndarray,
    hops: np.ndarray,
    tainted: np.ndarray,
    rank: np.ndarray,
    mark_out: np.ndarray,
    mark_tx: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tainted ancestor cone of ``targets`` after a bulk sweep.

    Walks back through contributing inputs (tainted value > 0, hop below the limit, not
    terminal), also through sources, so that re-runs with fewer sources see every output that
    can still carry their taint. Returns the cone's transactions in topological order, its
    outputs (targets first), and the tainted terminal outputs its transactions spend.
    ``mark_out`` and ``mark_tx`` are zeroed scratch arrays, left zeroed.
    """
    outs = np.empty(max(targets.size * 4, 16), np.int64)
    txs = np.empty(16, np.int64)
    blocked = np.empty(16, np.int64)
    n_out = 0
    n_tx = 0
    n_blocked = 0
    for o in targets:
        if mark_out[o] == 0:
            mark_out[o] = 1
            outs, n_out = _append(outs, n_out, o)
    head = 0
    while head < n_out:
        o = outs[head]
        head += 1
        t = out_tx[o]
        if mark_tx[t]:
            continue
        mark_tx[t] = 1
        txs, n_tx = _append(txs, n_tx, t)
        for k in range(in_ptr[t], in_ptr[t + 1]):
            i = in_output[k]
            if i < 0 or mark_out[i] != 0 or hops[i] < 0 or not tainted[i] > 0.0:
                continue
            if kmap[cls[i]] == TERMINAL:
                mark_out[i] = 2
                blocked, n_blocked = _append(blocked, n_blocked, i)
            elif hops[i] < hops_limit:
                mark_out[i] = 1
                outs, n_out = _append(outs, n_out, i)
    for j in range(n_out):
        mark_out[outs[j]] = 0
    for j in range(n_blocked):
        mark_out[blocked[j]] = 0
    return _by_rank(txs[:n_tx], rank, mark_tx), outs[:n_out], blocked[:n_blocked]


@njit(cache=True, nogil=True)
def forward_region(
    seeds: np.ndarray,
    seed_kind: np.ndarray,
    hops_limit: int,
    spent_by: np.ndarray,
    out_ptr: np.ndarray,
    cls: np.ndarray,
    kmap: np.ndarray,
    rank: np.ndarray,
    mark_tx: np.ndarray,
) -> np.ndarray:
    """Transactions within ``hops_limit`` spends of ``seeds``, through non-terminal outputs,
    in topological order (a superset of those the taint reaches). ``mark_tx``: zeroed scratch."""
    queue = np.empty(max(seeds.size * 4, 16), np.int64)
    dist = np.empty(queue.size, np.int64)
    txs = np.empty(16, np.int64)
    n_q = 0
    n_tx = 0
    for j in range(seeds.size):
        if seed_kind[j] != TERMINAL:
            queue, _ = _append(queue, n_q, seeds[j])
            dist, n_q = _append(dist, n_q, 0)
    head = 0
    while head < n_q:
        o = queue[head]
        d = dist[head]
        head += 1
        if d >= hops_limit:
            continue
        t = spent_by[o]
        if t < 0 or mark_tx[t]:
            continue
        mark_tx[t] = 1
        txs, n_tx = _append(txs, n_tx, t)
        for p in range(out_ptr[t], out_ptr[t + 1]):
            if kmap[cls[p]] != TERMINAL and d + 1 < hops_limit:
                queue, _ = _append(queue, n_q, p)
                dist, n_q = _append(dist, n_q, d + 1)
    return _by_rank(txs[:n_tx], rank, mark_tx)


# ----------------------------------------------------------------- sparse sweep and paths
# ``sparse_sweep`` and ``restricted`` share their sizing and gathering of inputs.
# ``restricted`` keeps its own loop, not one ``sparse_sweep`` per group, as that was about 10%
# slower: it assigns the slots once, resets the state per group and follows no paths.


@njit(cache=True, nogil=True)
def _sizes(
    txs: np.ndarray, seeds: np.ndarray, out_ptr: np.ndarray, in_ptr: np.ndarray
) -> tuple[int, int, int]:
    """The most slots a run over ``txs`` from ``seeds`` needs, and the most inputs and outputs
    of one transaction."""
    cap = seeds.size
    max_in = 1
    max_out = 1
    for t in txs:
        cap += out_ptr[t + 1] - out_ptr[t]
        max_in = max(max_in, in_ptr[t + 1] - in_ptr[t])
        max_out = max(max_out, out_ptr[t + 1] - out_ptr[t])
    return cap, max_in, max_out


@njit(cache=True, nogil=True, inline="always")
def _gather(
    t: int,
    hops_limit: int,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    in_value: np.ndarray,
    slot: np.ndarray,
    f: np.ndarray,
    h: np.ndarray,
    kind: np.ndarray,
    buf_v: np.ndarray,
    buf_f: np.ndarray,
    buf_h: np.ndarray,
    buf_s: np.ndarray,
) -> int:
    """Transaction ``t``'s inputs for ``tx_rule``: value (0 if negative), fraction and hops
    when the input contributes (else 0 and ``NO_HOP``), its slot then (else -1). Returns the
    total input value."""
    i0 = in_ptr[t]
    total = 0
    for k in range(in_ptr[t + 1] - i0):
        v = in_value[i0 + k]
        buf_v[k] = v if v > 0 else 0
        total += buf_v[k]
        buf_f[k] = 0.0
        buf_h[k] = NO_HOP
        buf_s[k] = -1
        o = in_output[i0 + k]
        if o >= 0:
            s = slot[o]
            if s >= 0 and h[s] >= 0 and h[s] < hops_limit and kind[s] != TERMINAL:
                buf_f[k] = f[s]
                buf_h[k] = h[s]
                buf_s[k] = s
    return total


@njit(cache=True, nogil=True, inline="always")
def _push(
    pval: np.ndarray,
    pprev: np.ndarray,
    prank: np.ndarray,
    pcount: np.ndarray,
    s: int,
    value: float,
    prev: int,
    rank: int,
) -> None:
    """Insert a candidate path into slot ``s``'s top list (descending value)."""
    top = pval.shape[1]
    n = pcount[s]
    if n == top and value <= pval[s, n - 1]:
        return
    j = n if n < top else top - 1
    while j > 0 and pval[s, j - 1] < value:
        pval[s, j] = pval[s, j - 1]
        pprev[s, j] = pprev[s, j - 1]
        prank[s, j] = prank[s, j - 1]
        j -= 1
    pval[s, j] = value
    pprev[s, j] = prev
    prank[s, j] = rank
    if n < top:
        pcount[s] = n + 1


@njit(cache=True, nogil=True)
def sparse_sweep(
    txs: np.ndarray,
    seeds: np.ndarray,
    seed_kind: np.ndarray,
    model: int,
    hops_limit: int,
    out_ptr: np.ndarray,
    out_value: np.ndarray,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    in_value: np.ndarray,
    cls: np.ndarray,
    kmap: np.ndarray,
    slot: np.ndarray,
    top: int,
) -> tuple[np.ndarray, ...]:
    """The transactions ``txs`` (topological order) with only ``seeds`` tainted at the start.

    Seeds are fully tainted at hop 0 with the given kind (``SOURCE`` or ``TERMINAL``); other
    outputs take ``kmap[cls]`` (``NORMAL`` or ``TERMINAL``); inputs outside the region are
    clean. Returns per local slot: output id, fraction, tainted value, hops, kind, and, when
    ``top > 0``, the ``top`` best evidence paths into each slot (value, previous slot and its
    path rank, -1 at a seed) with their count. ``slot`` is a scratch array of -1, left so.
    """
    cap, max_in, max_out = _sizes(txs, seeds, out_ptr, in_ptr)
    outs = np.empty(cap, np.int64)
    f = np.zeros(cap, np.float64)
    tv = np.zeros(cap, np.float64)
    h = np.full(cap, -1, np.int64)
    kind = np.zeros(cap, np.uint8)
    fixed = np.zeros(cap, np.bool_)
    k_top = max(top, 1)
    pval = np.zeros((cap if top > 0 else 1, k_top), np.float64)
    pprev = np.full((cap if top > 0 else 1, k_top), -1, np.int64)
    prank = np.full((cap if top > 0 else 1, k_top), -1, np.int64)
    pcount = np.zeros(cap if top > 0 else 1, np.int64)
    buf_v, buf_f, buf_h, buf_s, res_f, res_t, res_h = rule_buffers(max_in, max_out)
    n = 0
    for j in range(seeds.size):
        o = seeds[j]
        if slot[o] < 0:
            slot[o] = n
            outs[n] = o
            n += 1
        s = slot[o]
        f[s] = 1.0
        tv[s] = out_value[o]
        h[s] = 0
        kind[s] = seed_kind[j]
        fixed[s] = True
        if top > 0 and out_value[o] > 0:
            pcount[s] = 1
            pval[s, 0] = out_value[o]
    for t in txs:
        n_in = in_ptr[t + 1] - in_ptr[t]
        total = _gather(
            t, hops_limit, in_ptr, in_output, in_value, slot, f, h, kind, buf_v, buf_f, buf_h, buf_s
        )
        o0 = out_ptr[t]
        o1 = out_ptr[t + 1]
        tx_rule(model, n_in, buf_v, buf_f, buf_h, out_value, o0, o1, res_f, res_t, res_h)
        out_start = 0
        for o in range(o0, o1):
            s = slot[o]
            if s < 0:
                s = n
                slot[o] = n
                outs[n] = o
                kind[n] = kmap[cls[o]]
                n += 1
            v_o = out_value[o]
            if not fixed[s]:
                f[s] = res_f[o - o0]
                tv[s] = res_t[o - o0]
                h[s] = res_h[o - o0]
                if top > 0 and h[s] >= 0:
                    in_start = 0
                    for k in range(n_in):
                        p = buf_s[k]
                        if p >= 0 and buf_f[k] * buf_v[k] > 0.0:
                            if model == HAIRCUT:
                                factor = v_o / total
                            elif model == FIFO:
                                lo = max(in_start, out_start)
                                hi = min(in_start + buf_v[k], out_start + v_o)
                                factor = (hi - lo) / buf_v[k] if hi > lo else 0.0
                            else:
                                factor = 1.0
                            if factor > 0.0:
                                for r in range(pcount[p]):
                                    if model == POISON:
                                        value = min(pval[p, r], float(v_o))
                                    else:
                                        value = pval[p, r] * factor
                                    if value > 0.0:
                                        _push(pval, pprev, prank, pcount, s, value, p, r)
                        in_start += buf_v[k]
            out_start += v_o
    for j in range(n):
        slot[outs[j]] = -1
    return outs[:n], f[:n], tv[:n], h[:n], kind[:n], pval, pprev, prank, pcount


@njit(cache=True, nogil=True)
def restricted(
    txs: np.ndarray,
    seeds: np.ndarray,
    member: np.ndarray,
    targets: np.ndarray,
    model: int,
    hops_limit: int,
    out_ptr: np.ndarray,
    out_value: np.ndarray,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    in_value: np.ndarray,
    cls: np.ndarray,
    kmap: np.ndarray,
    slot: np.ndarray,
) -> np.ndarray:
    """For each group g (column of ``member``), the tainted value that reaches ``targets``
    when only the seeds of g are sources: ``sparse_sweep`` without paths, once per group on
    the same slots. ``slot`` is a scratch array of -1, left so."""
    cap, max_in, max_out = _sizes(txs, seeds, out_ptr, in_ptr)
    outs = np.empty(cap, np.int64)
    n = 0
    for o in seeds:
        if slot[o] < 0:
            slot[o] = n
            outs[n] = o
            n += 1
    for t in txs:
        for o in range(out_ptr[t], out_ptr[t + 1]):
            if slot[o] < 0:
                slot[o] = n
                outs[n] = o
                n += 1
    kind = np.empty(n, np.uint8)
    for s in range(n):
        kind[s] = kmap[cls[outs[s]]]
    f = np.zeros(n, np.float64)
    tv = np.zeros(n, np.float64)
    h = np.full(n, -1, np.int64)
    fixed = np.zeros(n, np.bool_)
    buf_v, buf_f, buf_h, buf_s, res_f, res_t, res_h = rule_buffers(max_in, max_out)
    found = np.zeros(member.shape[1], np.float64)
    for g in range(member.shape[1]):
        f[:] = 0.0
        tv[:] = 0.0
        h[:] = -1
        fixed[:] = False
        for j in range(seeds.size):
            s = slot[seeds[j]]
            if member[j, g]:
                f[s] = 1.0
                tv[s] = out_value[seeds[j]]
                h[s] = 0
                kind[s] = SOURCE
                fixed[s] = True
            elif not fixed[s]:
                kind[s] = kmap[cls[seeds[j]]]
        for t in txs:
            n_in = in_ptr[t + 1] - in_ptr[t]
            _gather(
                t,
                hops_limit,
                in_ptr,
                in_output,
                in_value,
                slot,
                f,
                h,
                kind,
                buf_v,
                buf_f,
                buf_h,
                buf_s,
            )
            o0 = out_ptr[t]
            o1 = out_ptr[t + 1]
            tx_rule(model, n_in, buf_v, buf_f, buf_h, out_value, o0, o1, res_f, res_t, res_h)
            for o in range(o0, o1):
                s = slot[o]
                if not fixed[s]:
                    f[s] = res_f[o - o0]
                    tv[s] = res_t[o - o0]
                    h[s] = res_h[o - o0]
        for o in targets:
            found[g] += tv[slot[o]]
    for s in range(n):
        slot[outs[s]] = -1
    return found
