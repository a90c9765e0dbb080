"""Benchmark: the 50% rule on a generated ownership graph (not a timed test).

* a seeded graph of 1,000,000 companies and 1,000,000 persons with about 3,000,000 ownership
  edges: 35% of companies are 100% subsidiaries, 10% are 50/50 joint ventures, the rest have
  2–7 owners with random stakes; 55% of owners are older companies (so chains form), 0.5% of
  company stakes point at a younger company (so cycles form); 7% of stakes are known only as
  UK PSC bands and 3% not at all. 10,000 listed persons, 2,000 weak (possible) matches, and
  500,000 directorships (some nominees directing dozens of companies);
* time split: building the arrays (merge per pair, CSR both ways), the fixed points (OFAC
  lower and upper bound, EU lower and upper, control) and the explanation chains of every
  blocked or possibly blocked company; peak RSS; counts of each verdict;
* the same fixed point in plain Python (dicts and a work queue) on a 100,000-company sample,
  checked equal to the array result; the ratio is the speed-up;
* the same graph with 200,000 listed persons (stress: 15% of companies blocked);
* ``rule.assess`` (the dict front, with path dicts) on a 20,000-company sample.

Run: ``PYTHONPATH=src python bench/network.py [--small]``; prints a table and writes
``bench/results/network.json``.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from collections import defaultdict, deque
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from _report import finish  # noqa: E402
from sanctrace.network.arrays import Explainer, build, effective_bounds, fixed_point  # noqa: E402
from sanctrace.network.graph import Control, Holding, Node, OwnershipGraph  # noqa: E402
from sanctrace.network.rule import assess  # noqa: E402
from sanctrace.network.shares import EPS, Share  # noqa: E402
from sanctrace.network.verdicts import BLOCKED, POSSIBLY, compute  # noqa: E402

SEED = 20250507


def generate(
    n_comp: int, n_pers: int, n_listed: int, n_directors: int, rng: np.random.Generator
) -> dict:
    """Edge arrays of a seeded ownership graph; companies are 0..n_comp-1, persons after."""
    kind = rng.choice(3, n_comp, p=[0.35, 0.10, 0.55])
    k = np.where(kind == 0, 1, np.where(kind == 1, 2, rng.integers(2, 8, n_comp)))
    asset = np.repeat(np.arange(n_comp), k)
    m = len(asset)
    # Stakes: 100 for subsidiaries, 50/50 for JVs, a random split (one decimal) otherwise.
    weights = rng.gamma(1.0, 1.0, m)
    sums = np.bincount(asset, weights=weights, minlength=n_comp)
    share = np.round(100.0 * weights / sums[asset], 1)
    share[np.repeat(kind == 0, k)] = 100.0
    share[np.repeat(kind == 1, k)] = 50.0
    # Owners: an older company (55%) or a person; a few company stakes point anywhere.
    by_company = rng.random(m) < 0.55
    older = np.floor(rng.random(m) * asset).astype(np.int64)
    owner = np.where(by_company & (asset > 0), older, n_comp + rng.integers(0, n_pers, m))
    rewire = by_company & (rng.random(m) < 0.005)
    owner[rewire] = rng.integers(0, n_comp, int(rewire.sum()))
    # Uncertainty: 7% PSC bands, 3% unknown.
    low, high = share.copy(), share.copy()
    low_open = np.zeros(m, bool)
    high_open = np.zeros(m, bool)
    u = rng.random(m)
    band = u < 0.07
    b1 = band & (share <= 25)
    b2 = band & (share > 25) & (share <= 50)
    b3 = band & (share > 50) & (share < 75)
    b4 = band & (share >= 75)
    low[b1], high[b1] = 0, 25
    low[b2], high[b2], low_open[b2] = 25, 50, True
    low[b3], high[b3], low_open[b3], high_open[b3] = 50, 75, True, True
    low[b4], high[b4] = 75, 100
    unknown = (u >= 0.07) & (u < 0.10)
    low[unknown], high[unknown] = 0, 100
    people = rng.permutation(n_pers)
    listed = n_comp + people[:n_listed]
    possibly = n_comp + people[n_listed : n_listed + n_listed // 5]
    # Directorships: mostly one company per person; 1% of them go to 200 busy nominees.
    d_person = n_comp + rng.integers(0, n_pers, n_directors)
    busy = rng.random(n_directors) < 0.01
    d_person[busy] = n_comp + people[-200:][rng.integers(0, 200, int(busy.sum()))]
    d_company = rng.integers(0, n_comp, n_directors)
    return {
        "n": n_comp + n_pers,
        "n_comp": n_comp,
        "owner": owner,
        "asset": asset,
        "low": low,
        "high": high,
        "low_open": low_open,
        "high_open": high_open,
        "listed": listed,
        "possibly": possibly,
        "d_person": d_person,
        "d_company": d_company,
    }


def full_run(g: dict) -> dict:
    n, n_comp = g["n"], g["n_comp"]
    t0 = time.perf_counter()
    lo, hi = effective_bounds(g["low"], g["high"], g["low_open"], g["high_open"])
    shares = build(n, g["owner"], g["asset"], lo, hi)
    c_owner = np.concatenate([g["owner"], g["d_person"]])
    c_asset = np.concatenate([g["asset"], g["d_company"]])
    c_w = np.concatenate([lo, np.full(len(g["d_person"]), 100.0)])
    control = build(n, c_owner, c_asset, c_w, c_w)
    is_ctl = np.zeros(len(c_owner), bool)
    is_ctl[len(g["owner"]) :] = True
    ctl_edges = np.logical_or.reduceat(is_ctl[control.member_idx], control.member_ptr[:-1])
    t1 = time.perf_counter()
    listed = np.zeros(n, bool)
    listed[g["listed"]] = True
    possibly = np.zeros(n, bool)
    possibly[g["possibly"]] = True
    v = compute(shares, listed, possibly, control, ctl_edges)
    t2 = time.perf_counter()
    companies = np.zeros(n, bool)
    companies[:n_comp] = True
    low = Explainer(shares, v.ofac_low)
    high = Explainer(shares, v.ofac_high, weight=shares.high)
    n_chains = n_steps = 0
    for i in np.flatnonzero(companies & (v.ofac == BLOCKED)):
        for chain in low.chains(int(i)):
            n_chains += 1
            n_steps += len(chain)
    t3 = time.perf_counter()
    for i in np.flatnonzero(companies & (v.ofac == POSSIBLY)):
        for chain in high.chains(int(i)):
            n_chains += 1
            n_steps += len(chain)
    t4 = time.perf_counter()
    counts = v.counts(companies)
    return {
        "companies": n_comp,
        "persons": n - n_comp,
        "ownership_edges": int(len(g["owner"])),
        "merged_edges": shares.m,
        "directorships": int(len(g["d_person"])),
        "listed_persons": int(len(g["listed"])),
        "possibly_listed_persons": int(len(g["possibly"])),
        "build_s": t1 - t0,
        "fixed_points_s": t2 - t1,
        "paths_blocked_s": t3 - t2,
        "paths_possibly_s": t4 - t3,
        "total_s": t4 - t0,
        "rounds_ofac_low": v.ofac_low.rounds,
        "rounds_ofac_high": v.ofac_high.rounds,
        "deepest_level": int(v.ofac_low.level.max()),
        "chains": n_chains,
        "mean_chain_steps": n_steps / max(n_chains, 1),
        "array_mb": (shares.nbytes() + control.nbytes()) / 2**20,
        **{f"companies_{k}": val for k, val in counts.items()},
    }


def python_fixed_point(
    owner: list[int], asset: list[int], low: list[float], listed: list[int]
) -> set[int]:
    """The reference: dicts and a work queue, one node at a time."""
    pair: dict[tuple[int, int], float] = {}
    for o, a, w in zip(owner, asset, low, strict=True):
        if o != a and w > pair.get((o, a), -1.0):
            pair[(o, a)] = w
    out: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (o, a), w in pair.items():
        out[o].append((a, w))
    blocked = set(listed)
    held: dict[int, float] = defaultdict(float)
    queue = deque(listed)
    while queue:
        o = queue.popleft()
        for a, w in out.get(o, ()):
            held[a] += w
            if a not in blocked and held[a] >= 50.0 - EPS:
                blocked.add(a)
                queue.append(a)
    return blocked


def sample(g: dict, n_sample: int) -> tuple:
    """The first ``n_sample`` companies with their owners (persons, or companies inside)."""
    n_comp = g["n_comp"]
    inside = (g["asset"] < n_sample) & ((g["owner"] >= n_comp) | (g["owner"] < n_sample))
    lo, hi = effective_bounds(g["low"], g["high"], g["low_open"], g["high_open"])
    return g["owner"][inside], g["asset"][inside], lo[inside], hi[inside]


def reference(g: dict, n_sample: int) -> dict:
    owner, asset, lo, _ = sample(g, n_sample)
    t0 = time.perf_counter()
    arr = build(g["n"], owner, asset, lo, lo)
    seeds = np.zeros(g["n"], bool)
    seeds[g["listed"]] = True
    fp = fixed_point(arr, seeds)
    t1 = time.perf_counter()
    lists = owner.tolist(), asset.tolist(), lo.tolist(), g["listed"].tolist()
    t2 = time.perf_counter()
    ref = python_fixed_point(*lists)
    t3 = time.perf_counter()
    same = ref == set(np.flatnonzero(fp.members).tolist())
    return {
        "companies": n_sample,
        "edges": int(len(owner)),
        "array_s": t1 - t0,
        "python_s": t3 - t2,
        "speedup": (t3 - t2) / (t1 - t0),
        "same_blocked_set": same,
        "blocked": len(ref) - len(g["listed"]),
    }


def front(g: dict, n_sample: int) -> dict:
    """``rule.assess`` over an ``OwnershipGraph`` of a sample, with path dicts."""
    owner, asset, _, _ = sample(g, n_sample)
    keep = np.flatnonzero(
        (g["asset"] < n_sample) & ((g["owner"] >= g["n_comp"]) | (g["owner"] < n_sample))
    )
    t0 = time.perf_counter()
    graph = OwnershipGraph()
    for i in set(asset.tolist()) | set(owner.tolist()):
        schema = "Company" if i < g["n_comp"] else "Person"
        graph.add_node(Node(str(i), schema, f"N{i}", [f"N{i}"], None, {}, "list"))
    for j in keep.tolist():
        share = Share(
            float(g["low"][j]),
            float(g["high"][j]),
            "",
            bool(g["low_open"][j]),
            bool(g["high_open"][j]),
        )
        graph.add_holding(
            Holding(
                f"h{j}", str(g["owner"][j]), str(g["asset"][j]), share, None, None, None, f"gen:{j}"
            )
        )
    for j in np.flatnonzero(g["d_company"] < n_sample).tolist():
        p = str(g["d_person"][j])
        if p not in graph.nodes:
            graph.add_node(Node(p, "Person", f"N{p}", [f"N{p}"], None, {}, "list"))
        graph.add_control(
            Control(f"d{j}", p, str(g["d_company"][j]), "director", None, None, None, f"gen:d{j}")
        )
    listed = {str(i): "generated" for i in g["listed"].tolist() if str(i) in graph.nodes}
    t1 = time.perf_counter()
    result = assess(graph, listed, as_of="2025-01-01")
    t2 = time.perf_counter()
    paths = sum(len(a.paths) + len(a.control_paths) for a in result.values())
    blocked = sum(a.verdict == "blocked" for a in result.values())
    return {
        "companies": n_sample,
        "holdings": len(graph.holdings),
        "graph_build_s": t1 - t0,
        "assess_s": t2 - t1,
        "assessments": len(result),
        "blocked": blocked,
        "path_dicts": paths,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tenth of the sizes")
    args = parser.parse_args()
    scale = 10 if args.small else 1
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    g = generate(1_000_000 // scale, 1_000_000 // scale, 10_000 // scale, 500_000 // scale, rng)
    generated_s = time.perf_counter() - t0
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu": platform.processor() or platform.machine(),
        },
        "mode": "small" if args.small else "full",
        "generate_s": generated_s,
        "full_graph": full_run(g),
    }
    results["max_rss_mb_after_full_graph"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    # The same graph with 20x the listed persons (a fifth of all persons): many more blocked
    # companies, deeper propagation, many more chains to explain.
    heavy = generate(
        1_000_000 // scale,
        1_000_000 // scale,
        200_000 // scale,
        500_000 // scale,
        np.random.default_rng(SEED),
    )
    results["heavy_listing"] = full_run(heavy)
    del heavy
    results["python_reference"] = reference(g, 100_000 // scale)
    results["assess_front"] = front(g, 20_000 // scale)
    finish("network", results)


if __name__ == "__main__":
    main()
