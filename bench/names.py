"""Benchmark: name-screening quality and speed against the real lists (not a timed test).

Quality, on the labelled sets in ``../shared/data/matching`` (``SANCTRACE_SHARED_DATA``):

- the 826 labelled pairs: precision, recall and F1 at the default threshold, beside
  OpenSanctions' logic-v2 (live when ``nomenklatura`` is installed — the ``bench`` extra —
  else its precomputed scores, said so in the output);
- METI's 559 Japanese↔English pairs screened against the 559 English names plus the full
  OFAC and UN lists: recall@1 and recall@5, transliterated and translated names apart;
- the cross-script pairs, the renderings of one name, the UN positives (as listed and
  perturbed), the generated negatives (false positives per 1,000 queries);
- the generated labelled set (``names_cases.py``: older transliterations, two approximate
  tokens, kinds, phonetic skeletons, acronyms, nicknames, Cyrillic translations);
- the candidate index's own recall: what the indexed screen misses of what an exhaustive
  scoring of every list name accepts.

Speed (in a child process pinned to one core, so its peak memory is its own): index the OFAC
2024 SDN.CSV with the 2025-12 aliases plus the UN list, screen 10,000 mixed queries.

Run: ``PYTHONPATH=src python bench/names.py [--quick]``; writes ``bench/results/names.json``.
"""

from __future__ import annotations

import os

# One core, one thread: set before numpy or rapidfuzz load.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import names_data as nd  # noqa: E402
from names_cases import section_cases  # noqa: E402
from names_recall import section_index_recall  # noqa: E402
from names_report import (  # noqa: E402
    RESULTS,
    SEED,
    pct,
    report,
    targets,
)
from names_sections import (  # noqa: E402
    build_screener,
    entity_keys,
    section_meti,
    section_pairs,
    section_recall_sets,
)

# ---------------------------------------------------------------------------------------------
# speed (child process)


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM (reset at exec, unlike ``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speed_worker(n: int) -> None:
    """Runs in a child: build the speed index and screen ``n`` queries on one core."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
    except (AttributeError, OSError):
        cpus = []
    from sanctrace.names import Screener

    lists = nd.load_lists()
    rss_lists = peak_rss_mb()
    start = time.perf_counter()
    screener = Screener.from_entities(lists.entities)
    build = time.perf_counter() - start
    rss_built = peak_rss_mb()
    queries = nd.speed_queries(lists, n, SEED)
    for _, q in queries[:50]:  # warm-up (lazy imports, caches of the first calls)
        screener.screen(q)
    times: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    hits = 0
    start = time.perf_counter()
    for kind, q in queries:
        t = time.perf_counter()
        res = screener.screen(q)
        dt = time.perf_counter() - t
        times.append(dt)
        by_kind[kind].append(dt)
        hits += bool(res)
    total = time.perf_counter() - start
    ms = [t * 1000 for t in times]
    result = {
        "queries": len(queries),
        "entities": len(screener),
        "names": len(screener.names),
        "cpu": cpus[-1] if cpus else None,
        "parse_seconds": round(lists.seconds, 2),
        "build_seconds": round(build, 2),
        "screen_seconds": round(total, 2),
        "queries_per_second": round(len(queries) / total, 1),
        "p50_ms": round(pct(ms, 0.50), 3),
        "p90_ms": round(pct(ms, 0.90), 3),
        "p99_ms": round(pct(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
        "queries_with_match": hits,
        "rss_after_parse_mb": round(rss_lists, 1),
        "rss_after_build_mb": round(rss_built, 1),
        "peak_mb": round(peak_rss_mb(), 1),
        "by_kind": {
            k: {
                "n": len(v),
                "p50_ms": round(pct([x * 1000 for x in v], 0.5), 3),
                "p99_ms": round(pct([x * 1000 for x in v], 0.99), 3),
            }
            for k, v in sorted(by_kind.items())
        },
        "slowest": sorted(
            (
                {"kind": k, "query": q.name, "ms": round(t * 1000, 2)}
                for (k, q), t in zip(queries, times, strict=True)
            ),
            key=lambda r: -r["ms"],
        )[:10],
    }
    print(json.dumps(result))


def start_speed(n: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(nd.ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    return subprocess.Popen(
        [sys.executable, __file__, "--speed-worker", "--queries", str(n)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish_speed(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"speed worker failed (status {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="subsample every set (development)")
    parser.add_argument("--queries", type=int, default=None, help="speed queries (default 10,000)")
    parser.add_argument(
        "--no-live-logicv2", action="store_true", help="use the precomputed logic-v2 scores"
    )
    parser.add_argument(
        "--parallel-speed",
        action="store_true",
        help="run the speed child beside the quality sections on its own core (faster, noisier)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "names.json")
    parser.add_argument("--speed-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_queries = args.queries or (2_000 if args.quick else 10_000)
    if args.speed_worker:
        speed_worker(n_queries)
        return

    for path in (*nd.OFAC_FILES, nd.UN_FILE, nd.MATCHING / "nomenklatura_name_bench_cases.csv"):
        if not path.exists():
            raise SystemExit(f"reference data not found: {path} (set SANCTRACE_SHARED_DATA)")

    from sanctrace.names import DEFAULT_THRESHOLD

    threshold = DEFAULT_THRESHOLD
    wall = time.perf_counter()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    parallel = args.parallel_speed and len(cpus) > 1
    speed_proc = start_speed(n_queries) if parallel else None
    if parallel:  # keep the quality work off the speed child's core
        cpus = cpus[:-1]
        os.sched_setaffinity(0, set(cpus))

    print(f"loading lists from {nd.DATA} …", flush=True)
    lists = nd.load_lists()
    base, base_seconds = build_screener(lists.entities)
    meti = nd.meti_pairs()
    if args.quick:
        meti = random.Random(SEED).sample(meti, 150)
    extra = [
        nd.make_entity(f"meti:{r['list_no']}", "LegalEntity", r["name_en"]) for r in nd.meti_pairs()
    ]
    xs_names = dict.fromkeys(r["expected"] for r in nd.cross_script_pairs())
    extra += [nd.make_entity(f"xs:{i}", "Person", name) for i, name in enumerate(xs_names)]
    putin_key = nd.name_key("PUTIN, Vladimir Vladimirovich")
    if not any(putin_key in {nd.name_key(n.value) for n in e.names} for e in lists.ofac):
        extra.append(
            nd.make_entity(
                "bench:putin", "Person", "Vladimir Vladimirovich PUTIN", birthDate="1952-10-07"
            )
        )
    extended, ext_seconds = build_screener(lists.entities + extra)
    keys_base = entity_keys(lists.entities)
    keys_ext = entity_keys(lists.entities + extra)
    print(
        f"lists parsed in {lists.seconds:.1f} s; screeners built in {base_seconds:.1f} s "
        f"(OFAC+UN) and {ext_seconds:.1f} s (+{len(extra)} METI/cross-script)",
        flush=True,
    )

    results: dict = {
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "quick": args.quick,
            "default_threshold": threshold,
            "seed": SEED,
            "speed_beside_quality": parallel,
            "data": str(nd.DATA),
        },
        "lists": {
            "ofac_entities": len(lists.ofac),
            "un_entities": len(lists.un),
            "indexed_names": len(base.names),
            "parse_seconds": round(lists.seconds, 2),
            "parse_warnings": lists.warnings,
            "build_seconds_main_process": round(base_seconds, 2),
        },
    }
    step = time.perf_counter()
    print("pairs …", flush=True)
    results["pairs"] = section_pairs(base, threshold, args.quick, not args.no_live_logicv2)
    print(f"  {time.perf_counter() - step:.0f} s; METI …", flush=True)
    step = time.perf_counter()
    results["meti"] = section_meti(extended, meti, threshold)
    results["meti"]["classes"] = dict(Counter(r["kind"] for r in nd.meti_pairs()))
    print(f"  {time.perf_counter() - step:.0f} s; recall sets and negatives …", flush=True)
    step = time.perf_counter()
    results["recall"] = section_recall_sets(
        base, extended, keys_base, keys_ext, threshold, args.quick
    )
    print(f"  {time.perf_counter() - step:.0f} s; generated labelled set …", flush=True)
    step = time.perf_counter()
    results["cases"] = section_cases(base, lists, threshold)
    print(f"  {time.perf_counter() - step:.0f} s; index recall (exhaustive sample) …", flush=True)
    step = time.perf_counter()
    results["index_recall"] = section_index_recall(
        base, extended, lists, threshold, args.quick, workers=len(cpus)
    )
    print(f"  {time.perf_counter() - step:.0f} s; speed …", flush=True)
    del base, extended
    if speed_proc is None:
        speed_proc = start_speed(n_queries)
    results["speed"] = finish_speed(speed_proc)
    # The persisted index, --jobs and the bulk rate (bench/names_speed.py prints its table).
    from names_speed import section_index_speed  # noqa: E402

    results["index_speed"] = section_index_speed(lists, quick=args.quick)
    results["meta"]["main_peak_mb"] = round(peak_rss_mb(), 1)
    results["meta"]["wall_seconds"] = round(time.perf_counter() - wall, 1)
    results["targets"] = targets(results)

    print()
    print(report(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"\nwritten {args.output}")


if __name__ == "__main__":
    main()
