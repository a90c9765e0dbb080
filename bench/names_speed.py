"""The persisted index and bulk speed for ``bench/names.py`` (also runs alone).

Rows, on OFAC 2024 SDN.CSV (+ 2025-12 aliases) and the UN list:

- build: normalise and index every name, save the folder; open: map it back (cold, in a
  fresh process), and one ``screen`` from that cold process;
- one core: the speed mix screened on the mapped index in a child pinned to one core
  (queries/s, p50/p99) — the same code path as the API and ``screen names``;
- ``--jobs``: the same generated customers screened by ``screen_all`` with 1 and 2 (and every)
  processes over the one mapped index; the outputs are compared;
- bulk: a generated customer file (97% names on no list, 3% list names with typos) screened
  with every core; the rate, and what 1 million would take at that rate (measured on fewer
  when ``--bulk`` says so: the report says which);
- Spark (``--spark``, needs pyspark and Java): the same customers through
  ``sanctrace.spark.names`` in local mode, and whether its matches equal the local ones.

Run alone: ``PYTHONPATH=src python bench/names_speed.py [--bulk 100000] [--spark]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import names_data as nd  # noqa: E402
from names_report import SEED, table  # noqa: E402

TARGETS = {"queries_per_second": 1500.0, "p99_ms": 5.0, "cold_screen_seconds": 1.5}


def customers(lists, n: int, seed: int = SEED) -> list:
    """``n`` generated customers: mostly names on no list, a few list names with typos."""
    from sanctrace.model import NameQuery

    rng = random.Random(seed)
    people = nd.persons_csv("negatives_global.csv") + nd.persons_csv("negatives_us.csv")
    given = [p["full_name"].split()[0] for p in people if p["full_name"].split()]
    family = [p["full_name"].split()[-1] for p in people if len(p["full_name"].split()) > 1]
    listed = [(e.schema, n.value) for e in lists.entities for n in e.names]
    out = []
    for i in range(n):
        if rng.random() < 0.03:
            schema, value = rng.choice(listed)
            name, schema_of = nd.typo(rng, value, 1), schema
        else:
            name, schema_of = f"{rng.choice(given)} {rng.choice(family)}", "Person"
        birth = f"{rng.randint(1940, 2005)}" if rng.random() < 0.5 else None
        out.append(NameQuery(name, schema=schema_of, birth_date=birth, id=f"c{i:07d}"))
    return out


def _child(code: str, *args: str, cpu: int | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(nd.ROOT / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", code, *args]
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


COLD = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from sanctrace.names.built import ScreenerData
from sanctrace.names import Screener
t1 = time.perf_counter()
s = Screener(data=ScreenerData.load(Path(sys.argv[1])))
t2 = time.perf_counter()
found = s.screen("Vladimir Putin")
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "first_screen_s": t3 - t2,
                  "matches": len(found)}))
"""

ONE_CORE = """
import json, pickle, sys, time
from pathlib import Path
from sanctrace.names.built import ScreenerData
from sanctrace.names import Screener
s = Screener(data=ScreenerData.load(Path(sys.argv[1])))
queries = pickle.load(open(sys.argv[2], "rb"))
for q in queries[:50]:
    s.screen(q)
times = []
cpu0, t0 = time.process_time(), time.perf_counter()
for q in queries:
    t = time.perf_counter(); s.screen(q); times.append(time.perf_counter() - t)
wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
times.sort()
print(json.dumps({"queries": len(queries), "wall_s": wall, "cpu_s": cpu,
    "p50_ms": times[len(times) // 2] * 1e3, "p99_ms": times[int(len(times) * 0.99)] * 1e3}))
"""


def section_index_speed(
    lists, quick: bool = False, bulk: int | None = None, spark: bool = False
) -> dict:
    """Build, save, open, one-core speed, ``--jobs`` scaling and the bulk rate; prints a table."""
    import pickle

    from sanctrace.names import Screener
    from sanctrace.names.built import ScreenerData, prepare
    from sanctrace.services._bulk_jobs import default_jobs, screen_all

    out: dict = {"cores": default_jobs()}
    work = Path(tempfile.mkdtemp(prefix="sanctrace-bench-index-"))
    start = time.perf_counter()
    data = ScreenerData.build(prepare(e, i, None) for i, e in enumerate(lists.entities))
    out["build_s"] = round(time.perf_counter() - start, 2)
    folder = work / "index"
    start = time.perf_counter()
    data.save(folder)
    out["save_s"] = round(time.perf_counter() - start, 2)
    out["folder_mb"] = round(sum(p.stat().st_size for p in folder.iterdir()) / 2**20, 1)
    cold = [_child(COLD, str(folder)) for _ in range(3)]
    out["cold"] = {k: round(sorted(c[k] for c in cold)[1], 3) for k in cold[0]}
    del data

    mix = [q for _, q in nd.speed_queries(lists, 2_000 if quick else 10_000, SEED)]
    mix_file = work / "mix.pkl"
    mix_file.write_bytes(pickle.dumps(mix))
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [None]
    one = _child(ONE_CORE, str(folder), str(mix_file), cpu=cpus[-1])
    out["one_core"] = {
        "queries": one["queries"],
        "qps_wall": round(one["queries"] / one["wall_s"], 1),
        "qps_cpu": round(one["queries"] / one["cpu_s"], 1),
        "p50_ms": round(one["p50_ms"], 3),
        "p99_ms": round(one["p99_ms"], 3),
    }

    screener = Screener(data=ScreenerData.load(folder))
    n_bulk = bulk or (5_000 if quick else 20_000)
    people = customers(lists, n_bulk)
    jobs_rows = {}
    answers = {}
    for jobs in sorted({1, 2, out["cores"]}):
        start = time.perf_counter()
        answers[jobs] = screen_all(screener, people, 5, None, jobs=jobs)
        seconds = time.perf_counter() - start
        jobs_rows[jobs] = {"seconds": round(seconds, 2), "rate": round(n_bulk / seconds, 1)}
    base = jobs_rows[1]["rate"]
    for row in jobs_rows.values():
        row["speedup"] = round(row["rate"] / base, 2)
    out["jobs"] = jobs_rows
    out["jobs_identical"] = all(a == answers[1] for a in answers.values())
    best = max(r["rate"] for r in jobs_rows.values())
    out["bulk"] = {
        "customers": n_bulk,
        "matched": sum(1 for a in answers[1] if a),
        "rate_per_s": best,
        "million_extrapolated_min": round(1_000_000 / best / 60, 1),
        "measured_on_million": n_bulk >= 1_000_000,
    }
    print(speed_report(out), flush=True)
    if spark:
        try:
            out["spark"] = _spark_rate(folder, people, answers[1], work)
        except Exception as exc:  # noqa: BLE001 - reported, the other rows stand
            out["spark"] = {"error": str(exc).splitlines()[0][:200]}
        print(json.dumps({"spark": out["spark"]}), flush=True)
    return out


def _spark_rate(folder: Path, people: list, local: list, work: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sanctrace.spark.names import screen_customers
    from sanctrace.spark.session import spark_session

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    table_ = pa.Table.from_pylist(
        [
            {"id": q.id, "name": q.name, "schema": q.schema, "birth_date": q.birth_date}
            for q in people
        ]
    )
    path = work / "customers.parquet"
    pq.write_table(table_, path)
    spark = spark_session("sanctrace-bench-names")
    start = time.perf_counter()
    rows = screen_customers(spark, folder, str(path)).collect()
    seconds = time.perf_counter() - start
    spark.stop()
    got = sorted((r.query_id, r.rank, round(r.score, 4), r.entity_id) for r in rows)
    want = sorted(
        (q.id, rank, round(m.score, 4), m.entity_id)
        for q, ms in zip(people, local, strict=True)
        for rank, m in enumerate(ms, 1)
    )
    return {
        "seconds": round(seconds, 1),
        "rate_per_s": round(len(people) / seconds, 1),
        "equal_to_local": got == want,
    }


def speed_report(r: dict) -> str:
    """The table of this section, targets marked."""
    one, cold = r["one_core"], r["cold"]
    cold_total = cold["import_s"] + cold["open_s"] + cold["first_screen_s"]
    rows = [
        ["index build (normalise + index)", r["build_s"], "s", ""],
        ["index save", r["save_s"], "s", f"{r['folder_mb']} MB"],
        ["cold process: import names", cold["import_s"], "s", ""],
        ["cold process: open (map) index", cold["open_s"], "s", ""],
        ["cold process: first screen", cold["first_screen_s"], "s", ""],
        [
            "cold open + screen (no CLI import)",
            round(cold_total, 3),
            "s",
            _met(cold_total <= TARGETS["cold_screen_seconds"]),
        ],
        [
            "one core q/s (wall)",
            one["qps_wall"],
            "q/s",
            _met(one["qps_wall"] >= TARGETS["queries_per_second"]),
        ],
        ["one core q/s (CPU time)", one["qps_cpu"], "q/s", ""],
        ["one core p50", one["p50_ms"], "ms", ""],
        ["one core p99", one["p99_ms"], "ms", _met(one["p99_ms"] <= TARGETS["p99_ms"])],
    ]
    for jobs, row in r["jobs"].items():
        rows.append([f"--jobs {jobs}", row["rate"], "names/s", f"×{row['speedup']}"])
    rows.append(["--jobs outputs identical", str(r["jobs_identical"]), "", ""])
    b = r["bulk"]
    how = "measured" if b["measured_on_million"] else f"extrapolated from {b['customers']:,}"
    rows.append([f"bulk 1M customers ({how})", b["million_extrapolated_min"], "min", ""])
    if "rate_per_s" in r.get("spark", {}):
        s = r["spark"]
        rows.append(
            [
                "Spark local bulk",
                s["rate_per_s"],
                "names/s",
                f"equal to local: {s['equal_to_local']}",
            ]
        )
    return table(
        f"Persisted index and bulk speed ({r['cores']} cores)",
        ["row", "value", "unit", "note"],
        rows,
    )


def _met(ok: bool) -> str:
    return "target met" if ok else "target missed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--bulk", type=int, help="generated customers for the bulk rows")
    parser.add_argument("--spark", action="store_true", help="also the Spark local bulk rate")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    lists = nd.load_lists()
    result = section_index_speed(lists, args.quick, args.bulk, args.spark)
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
