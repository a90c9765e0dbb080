"""Compiled taint kernels (numba, ``nogil``): the transaction rule and the bulk sweep.

The semantics are those of ``docs/exposure.md``. Every UTXO kernel applies one transaction rule,
``tx_rule``: given the transaction's inputs (value, tainted fraction when the input
contributes, hop count) it gives each output its tainted fraction, tainted value and hop count
under the chosen model. The kernels differ in which transactions they visit and where they keep
results:

* ``sweep`` (here) — every transaction in topological order, results per output id (the bulk
  in-view of ``ExposureEngine.run``), with the structure kernels it needs (creating
  transaction per output, topological order);
* ``_taint_query`` — one subject: a sparse sweep over a given region with optional top-k
  evidence paths, per-group re-runs, and the regions themselves (ancestor cone, forward
  region);
* ``_taint_account`` — account chains: transfers in time order.

Output kinds (per run): ``NORMAL`` propagates, ``SOURCE`` is fully tainted at hop 0 and keeps
that, ``TERMINAL`` is computed but passes nothing on. A run maps each output's class bits
(``FLAGGED`` | ``STOP``) to a kind through a four-entry table ``kmap``.

numba's cache (``cache=True``) is checked against each kernel's own source file only: after
editing ``tx_rule``, ``rule_buffers`` or the constants here, touch ``_taint_query.py`` and
``_taint_account.py`` (or clear ``__pycache__``) so that their kernels compile again.
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
            t: int = stack_tx[sp]
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
def tx_rule(
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


@njit(cache=True, nogil=True)
def rule_buffers(max_in: int, max_out: int) -> tuple[np.ndarray, ...]:
    """Scratch for ``tx_rule`` on transactions of at most ``max_in`` inputs and ``max_out``
    outputs: per input value, fraction, hops and slot; per output fraction, tainted value and
    hops."""
    return (
        np.empty(max_in, np.int64),
        np.empty(max_in, np.float64),
        np.empty(max_in, np.int64),
        np.empty(max_in, np.int64),
        np.empty(max_out, np.float64),
        np.empty(max_out, np.float64),
        np.empty(max_out, np.int64),
    )


# ----------------------------------------------------------------------------- bulk sweep


@njit(cache=True, nogil=True)
def sweep(
    model: int,
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
    """Every transaction in ``order`` (topological); every output written once: its tainted
    fraction, tainted value and hop count (-1 when untainted)."""
    # one kernel per rule, written out: these are the hot loops. FIFO needs buffers, haircut
    # and poison do not; ``_sweep_uniform`` is inlined per constant ``poison``, so no copy
    # branches on the model (measured: a run-time flag is a few percent slower)
    if model == FIFO:
        _sweep_fifo(
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
    elif model == POISON:
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
    else:
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


@njit(cache=True, nogil=True, inline="always")
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
def _sweep_fifo(
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
    buf_v, buf_f, buf_h, _, res_f, res_t, res_h = rule_buffers(max_in, max_out)
    for j in range(order.size):
        t = order[j]
        i0 = in_ptr[t]
        n_in = in_ptr[t + 1] - i0
        for i in range(n_in):  # by output id: ``_taint_query._gather`` is the same by slot
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
        tx_rule(FIFO, n_in, buf_v, buf_f, buf_h, out_value, o0, o1, res_f, res_t, res_h)
        for o in range(o0, o1):
            if kmap[cls[o]] == SOURCE:
                fraction[o] = 1.0
                tainted[o] = out_value[o]
                hops[o] = 0
            else:
                fraction[o] = res_f[o - o0]
                tainted[o] = res_t[o - o0]
                hops[o] = res_h[o - o0]
