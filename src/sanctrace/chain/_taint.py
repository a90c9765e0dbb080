"""Compiled taint kernels (numba, ``nogil``) for ``chain.exposure`` and ``chain.exposure_account``.

The semantics are those of ``docs/exposure.md``. Every UTXO kernel applies one transaction rule,
``_tx_rule``: given the transaction's inputs (value, tainted fraction when the input
contributes, hop count) it gives each output its tainted fraction, tainted value and hop count
under the chosen model. The kernels differ in which transactions they visit and where they keep
results:

* ``sweep_haircut``, ``sweep_poison``, ``sweep_fifo`` — every transaction in topological order,
  results per output id (the bulk in-view; written out per model, as they are the hot loops);
* ``sparse_sweep`` — a given topologically sorted set of transactions, results in local slots,
  with optional top-k evidence paths (one output's out-view, and the per-entity re-runs of an
  in-view on its ancestor cone);
* ``cone`` and ``forward_region`` — the transactions such a sparse run needs.

Output kinds (per run): ``NORMAL`` propagates, ``SOURCE`` is fully tainted at hop 0 and keeps
that, ``TERMINAL`` is computed but passes nothing on. A run maps each output's class bits
(``FLAGGED`` | ``STOP``) to a kind through a four-entry table ``kmap``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

HAIRCUT, POISON, FIFO = 0, 1, 2
NORMAL, SOURCE, TERMINAL = 0, 1, 2
FLAGGED, STOP = 1, 2
NO_HOP = 127  # larger than any hop count (at most 10)


# ----------------------------------------------------------------------------- structure


@njit(cache=True, nogil=True)
def fill_creating_tx(out_ptr: np.ndarray, out_tx: np.ndarray) -> None:
    """``out_tx[o]`` = the transaction that created output ``o``."""
    for t in range(out_ptr.size - 1):
        for o in range(out_ptr[t], out_ptr[t + 1]):
            out_tx[o] = t


@njit(cache=True, nogil=True)
def is_topological(in_ptr: np.ndarray, in_output: np.ndarray, out_ptr: np.ndarray) -> bool:
    """Whether every transaction spends only outputs of transactions with smaller ids
    (outputs are numbered in transaction order, so: below its own first output)."""
    for t in range(in_ptr.size - 1):
        first = out_ptr[t]
        for k in range(in_ptr[t], in_ptr[t + 1]):
            if in_output[k] >= first:
                return False
    return True


@njit(cache=True, nogil=True)
def topo_dfs(
    in_ptr: np.ndarray, in_output: np.ndarray, out_tx: np.ndarray, order: np.ndarray
) -> int:
    """Depth-first post-order over spent outputs: a topological order (creators first).

    Roots are taken in id order and predecessors in input order, so ids that are already
    topological come out unchanged. Returns the count written, or ``-(t + 1)`` when
    transaction ``t`` lies on a cycle.
    """
    n_tx = in_ptr.size - 1
    state = np.zeros(n_tx, np.uint8)
    stack_tx = np.empty(n_tx, np.int64)
    stack_k = np.empty(n_tx, np.int64)
    pos = 0
    for root in range(n_tx):
        if state[root]:
            continue
        sp = 0
        stack_tx[0] = root
        stack_k[0] = in_ptr[root]
        state[root] = 1
        while sp >= 0:
            t = stack_tx[sp]
            k = stack_k[sp]
            if k < in_ptr[t + 1]:
                stack_k[sp] = k + 1
                o = in_output[k]
                if o >= 0:
                    u = out_tx[o]
                    if state[u] == 0:
                        sp += 1
                        stack_tx[sp] = u
                        stack_k[sp] = in_ptr[u]
                        state[u] = 1
                    elif state[u] == 1:
                        return -(t + 1)
            else:
                state[t] = 2
                order[pos] = t
                pos += 1
                sp -= 1
    return pos


# ------------------------------------------------------------------- the transaction rule


@njit(cache=True, nogil=True)
def _tx_rule(
    model: int,
    n_in: int,
    buf_v: np.ndarray,
    buf_f: np.ndarray,
    buf_h: np.ndarray,
    out_value: np.ndarray,
    o0: int,
    o1: int,
    res_f: np.ndarray,
    res_t: np.ndarray,
    res_h: np.ndarray,
) -> None:
    """Fill ``res_*[j]`` for outputs ``o0 + j`` from the gathered inputs.

    ``buf_f[k]`` is input k's fraction when it contributes (hop below the limit, not terminal)
    and 0 otherwise; an input contributes taint when ``buf_f[k] * buf_v[k] > 0``.
    """
    n_out = o1 - o0
    if model == FIFO:
        k = 0
        in_start = 0  # start of input k's stretch
        out_start = 0
        for j in range(n_out):
            v = out_value[o0 + j]
            end = out_start + v
            while k < n_in and in_start + buf_v[k] <= out_start:
                in_start += buf_v[k]
                k += 1
            taint = 0.0
            hmin = NO_HOP
            kk, ks = k, in_start
            while kk < n_in and ks < end:
                ke = ks + buf_v[kk]
                if buf_f[kk] > 0.0:
                    lo = ks if ks > out_start else out_start
                    hi = ke if ke < end else end
                    if hi > lo:
                        taint += buf_f[kk] * (hi - lo)
                        if buf_h[kk] < hmin:
                            hmin = buf_h[kk]
                ks = ke
                kk += 1
            if taint > 0.0 and v > 0:
                res_f[j] = taint / v
                res_t[j] = taint
                res_h[j] = hmin + 1
            else:
                res_f[j] = 0.0
                res_t[j] = 0.0
                res_h[j] = -1
            out_start = end
        return
    total = 0
    taint = 0.0
    hmin = NO_HOP
    for k in range(n_in):
        total += buf_v[k]
        t = buf_f[k] * buf_v[k]
        if t > 0.0:
            taint += t
            if buf_h[k] < hmin:
                hmin = buf_h[k]
    if taint > 0.0:
        f = taint / total if model == HAIRCUT else 1.0
        for j in range(n_out):
            res_f[j] = f
            res_t[j] = f * out_value[o0 + j]
            res_h[j] = hmin + 1
    else:
        for j in range(n_out):
            res_f[j] = 0.0
            res_t[j] = 0.0
            res_h[j] = -1


# ----------------------------------------------------------------------------- bulk sweeps
# One kernel per model, written out for speed: these are the hot loops of ``run``. Each visits
# every transaction in ``order`` (topological) and writes every output once.


@njit(cache=True, nogil=True)
def _sweep_uniform(
    poison: bool,
    order: np.ndarray,
    hops_limit: int,
    out_ptr: np.ndarray,
    out_value: np.ndarray,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    in_value: np.ndarray,
    cls: np.ndarray,
    kmap: np.ndarray,
    fraction: np.ndarray,
    tainted: np.ndarray,
    hops: np.ndarray,
) -> None:
    """Haircut and poison: every output of a transaction gets the same fraction."""
    for j in range(order.size):
        t = order[j]
        total = 0
        taint = 0.0
        hmin = NO_HOP
        for i in range(in_ptr[t], in_ptr[t + 1]):
            v = in_value[i]
            if v > 0:
                total += v
                o = in_output[i]
                if o >= 0:
                    h = hops[o]
                    if h >= 0 and h < hops_limit and kmap[cls[o]] != TERMINAL:
                        c = fraction[o] * v
                        if c > 0.0:
                            taint += c
                            if h < hmin:
                                hmin = h
        f = 0.0
        h_out = -1
        if taint > 0.0:
            f = 1.0 if poison else taint / total
            h_out = hmin + 1
        for o in range(out_ptr[t], out_ptr[t + 1]):
            if kmap[cls[o]] == SOURCE:
                fraction[o] = 1.0
                tainted[o] = out_value[o]
                hops[o] = 0
            else:
                fraction[o] = f
                tainted[o] = f * out_value[o]
                hops[o] = h_out


@njit(cache=True, nogil=True)
def sweep_haircut(
    order: np.ndarray,
    hops_limit: int,
    out_ptr: np.ndarray,
    out_value: np.ndarray,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    in_value: np.ndarray,
    cls: np.ndarray,
    kmap: np.ndarray,
    fraction: np.ndarray,
    tainted: np.ndarray,
    hops: np.ndarray,
) -> None:
    """Haircut: f(o) = T / V for every output."""
    _sweep_uniform(
        False,
        order,
        hops_limit,
        out_ptr,
        out_value,
        in_ptr,
        in_output,
        in_value,
        cls,
        kmap,
        fraction,
        tainted,
        hops,
    )


@njit(cache=True, nogil=True)
def sweep_poison(
    order: np.ndarray,
    hops_limit: int,
    out_ptr: np.ndarray,
    out_value: np.ndarray,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    in_value: np.ndarray,
    cls: np.ndarray,
    kmap: np.ndarray,
    fraction: np.ndarray,
    tainted: np.ndarray,
    hops: np.ndarray,
) -> None:
    """Poison: f(o) = 1 when T > 0."""
    _sweep_uniform(
        True,
        order,
        hops_limit,
        out_ptr,
        out_value,
        in_ptr,
        in_output,
        in_value,
        cls,
        kmap,
        fraction,
        tainted,
        hops,
    )


@njit(cache=True, nogil=True)
def sweep_fifo(
    order: np.ndarray,
    hops_limit: int,
    out_ptr: np.ndarray,
    out_value: np.ndarray,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    in_value: np.ndarray,
    cls: np.ndarray,
    kmap: np.ndarray,
    fraction: np.ndarray,
    tainted: np.ndarray,
    hops: np.ndarray,
) -> None:
    """FIFO: inputs and outputs laid end to end; each output takes the taint it covers."""
    max_in = 1
    max_out = 1
    for t in range(in_ptr.size - 1):
        max_in = max(max_in, in_ptr[t + 1] - in_ptr[t])
        max_out = max(max_out, out_ptr[t + 1] - out_ptr[t])
    buf_v = np.empty(max_in, np.int64)
    buf_f = np.empty(max_in, np.float64)
    buf_h = np.empty(max_in, np.int64)
    res_f = np.empty(max_out, np.float64)
    res_t = np.empty(max_out, np.float64)
    res_h = np.empty(max_out, np.int64)
    for j in range(order.size):
        t = order[j]
        i0 = in_ptr[t]
        n_in = in_ptr[t + 1] - i0
        for i in range(n_in):
            v = in_value[i0 + i]
            buf_v[i] = v if v > 0 else 0
            buf_f[i] = 0.0
            buf_h[i] = NO_HOP
            o = in_output[i0 + i]
            if o >= 0:
                h = hops[o]
                if h >= 0 and h < hops_limit and kmap[cls[o]] != TERMINAL:
                    buf_f[i] = fraction[o]
                    buf_h[i] = h
        o0 = out_ptr[t]
        o1 = out_ptr[t + 1]
        _tx_rule(FIFO, n_in, buf_v, buf_f, buf_h, out_value, o0, o1, res_f, res_t, res_h)
        for o in range(o0, o1):
            if kmap[cls[o]] == SOURCE:
                fraction[o] = 1.0
                tainted[o] = out_value[o]
                hops[o] = 0
            else:
                fraction[o] = res_f[o - o0]
                tainted[o] = res_t[o - o0]
                hops[o] = res_h[o - o0]


# ------------------------------------------------------------------- regions for one query


@njit(cache=True, nogil=True)
def _grow(a: np.ndarray, n: int) -> np.ndarray:
    if n < a.size:
        return a
    b = np.empty(a.size * 2, a.dtype)
    b[: a.size] = a
    return b


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
            outs = _grow(outs, n_out)
            outs[n_out] = o
            n_out += 1
    head = 0
    while head < n_out:
        o = outs[head]
        head += 1
        t = out_tx[o]
        if mark_tx[t]:
            continue
        mark_tx[t] = 1
        txs = _grow(txs, n_tx)
        txs[n_tx] = t
        n_tx += 1
        for k in range(in_ptr[t], in_ptr[t + 1]):
            i = in_output[k]
            if i < 0 or mark_out[i] != 0 or hops[i] < 0 or not tainted[i] > 0.0:
                continue
            if kmap[cls[i]] == TERMINAL:
                mark_out[i] = 2
                blocked = _grow(blocked, n_blocked)
                blocked[n_blocked] = i
                n_blocked += 1
            elif hops[i] < hops_limit:
                mark_out[i] = 1
                outs = _grow(outs, n_out)
                outs[n_out] = i
                n_out += 1
    for j in range(n_out):
        mark_out[outs[j]] = 0
    for j in range(n_blocked):
        mark_out[blocked[j]] = 0
    txs = txs[:n_tx]
    for j in range(n_tx):
        mark_tx[txs[j]] = 0
    keys = np.empty(n_tx, np.int64)
    for j in range(n_tx):
        keys[j] = rank[txs[j]]
    return txs[np.argsort(keys)], outs[:n_out], blocked[:n_blocked]


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
            queue = _grow(queue, n_q)
            dist = _grow(dist, n_q)
            queue[n_q] = seeds[j]
            dist[n_q] = 0
            n_q += 1
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
        txs = _grow(txs, n_tx)
        txs[n_tx] = t
        n_tx += 1
        for p in range(out_ptr[t], out_ptr[t + 1]):
            if kmap[cls[p]] != TERMINAL and d + 1 < hops_limit:
                queue = _grow(queue, n_q)
                dist = _grow(dist, n_q)
                queue[n_q] = p
                dist[n_q] = d + 1
                n_q += 1
    txs = txs[:n_tx]
    keys = np.empty(n_tx, np.int64)
    for j in range(n_tx):
        mark_tx[txs[j]] = 0
        keys[j] = rank[txs[j]]
    return txs[np.argsort(keys)]


# ----------------------------------------------------------------- sparse sweep and paths


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
    cap = seeds.size
    max_in = 1
    for t in txs:
        cap += out_ptr[t + 1] - out_ptr[t]
        max_in = max(max_in, in_ptr[t + 1] - in_ptr[t])
    max_out = max(1, cap)
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
    buf_v = np.empty(max_in, np.int64)
    buf_f = np.empty(max_in, np.float64)
    buf_h = np.empty(max_in, np.int64)
    buf_s = np.empty(max_in, np.int64)
    res_f = np.empty(max_out, np.float64)
    res_t = np.empty(max_out, np.float64)
    res_h = np.empty(max_out, np.int64)
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
        i0 = in_ptr[t]
        n_in = in_ptr[t + 1] - i0
        total = 0
        for k in range(n_in):
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
        o0 = out_ptr[t]
        o1 = out_ptr[t + 1]
        _tx_rule(model, n_in, buf_v, buf_f, buf_h, out_value, o0, o1, res_f, res_t, res_h)
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
    when only the seeds of g are sources: one ``sparse_sweep`` per group, sharing the slots.
    ``slot`` is a scratch array of -1, left so."""
    n_groups = member.shape[1]
    cap = seeds.size
    max_in = 1
    max_out = 1
    for t in txs:
        cap += out_ptr[t + 1] - out_ptr[t]
        max_in = max(max_in, in_ptr[t + 1] - in_ptr[t])
        max_out = max(max_out, out_ptr[t + 1] - out_ptr[t])
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
    buf_v = np.empty(max_in, np.int64)
    buf_f = np.empty(max_in, np.float64)
    buf_h = np.empty(max_in, np.int64)
    res_f = np.empty(max_out, np.float64)
    res_t = np.empty(max_out, np.float64)
    res_h = np.empty(max_out, np.int64)
    found = np.zeros(n_groups, np.float64)
    for g in range(n_groups):
        f[:] = 0.0
        tv[:] = 0.0
        h[:] = -1
        fixed[:] = False
        for j in range(seeds.size):
            if member[j, g]:
                s = slot[seeds[j]]
                f[s] = 1.0
                tv[s] = out_value[seeds[j]]
                h[s] = 0
                fixed[s] = True
        for t in txs:
            i0 = in_ptr[t]
            n_in = in_ptr[t + 1] - i0
            for i in range(n_in):
                v = in_value[i0 + i]
                buf_v[i] = v if v > 0 else 0
                buf_f[i] = 0.0
                buf_h[i] = NO_HOP
                o = in_output[i0 + i]
                if o >= 0:
                    s = slot[o]
                    if s >= 0 and h[s] >= 0 and h[s] < hops_limit:
                        if kind[s] != TERMINAL or fixed[s]:
                            buf_f[i] = f[s]
                            buf_h[i] = h[s]
            o0 = out_ptr[t]
            o1 = out_ptr[t + 1]
            _tx_rule(model, n_in, buf_v, buf_f, buf_h, out_value, o0, o1, res_f, res_t, res_h)
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


# --------------------------------------------------------------------------- account chains


@njit(cache=True, nogil=True)
def account_sweep(
    edges: np.ndarray,
    poison: bool,
    src: np.ndarray,
    dst: np.ndarray,
    amount: np.ndarray,
    time: np.ndarray,
    kind: np.ndarray,
    received: np.ndarray,
    tainted: np.ndarray,
    first_time: np.ndarray,
    hops: np.ndarray,
    carried: np.ndarray,
    basis: np.ndarray,
) -> None:
    """Transfers ``edges`` in time order. Per address: received, tainted received, the time of
    the first tainted receipt and the hop count; per edge (position j): the taint it carried
    and its sender's received total just before it (the haircut basis, for evidence paths).

    ``kind`` per address: ``SOURCE`` (fraction 1 throughout), ``TERMINAL`` (receives, passes
    nothing on) or ``NORMAL``. Haircut: a sender's fraction is tainted received / received so
    far; poison: 1 from its first tainted receipt on. A receipt of amount 0 taints nothing.
    ``hops`` starts at -1 (0 at sources), ``first_time`` at the int64 maximum.
    """
    never = np.iinfo(np.int64).max
    for j in range(edges.size):
        e = edges[j]
        s = src[e]
        d = dst[e]
        a = amount[e]
        ks = kind[s]
        basis[j] = received[s]
        if ks == SOURCE:
            fs = 1.0
        elif ks == TERMINAL:
            fs = 0.0
        elif poison:
            fs = 1.0 if hops[s] >= 0 else 0.0
        else:
            fs = tainted[s] / received[s] if received[s] > 0.0 else 0.0
        c = a * fs
        carried[j] = c
        received[d] += a
        if c > 0.0:
            tainted[d] += c
            if kind[d] != SOURCE and (hops[d] < 0 or hops[s] + 1 < hops[d]):
                hops[d] = hops[s] + 1
            if first_time[d] == never:
                first_time[d] = time[e]
