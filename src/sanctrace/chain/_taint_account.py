"""Compiled taint kernel (numba, ``nogil``) for ``chain.exposure_account``: one token's
transfers in time order, under haircut or poison (semantics in ``docs/exposure.md``).

Address kinds are those of ``_taint``: ``SOURCE``, ``TERMINAL`` or ``NORMAL``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sanctrace.chain._taint import SOURCE, TERMINAL


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
