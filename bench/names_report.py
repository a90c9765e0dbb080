"""Tables, verdicts and the printed report of ``bench/names.py``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import names_data as nd  # noqa: E402

RESULTS = nd.ROOT / "bench" / "results"
SEED = 20260301

TARGETS = {
    "pairs_f1": 0.90,
    "meti_translit_recall5": 0.95,
    "meti_translated_recall5": 0.85,
    "negatives_fp_per_1000": 5.0,
    "cases_accuracy": 0.95,
    "queries_per_second": 1000.0,
    "p99_ms": 10.0,
    "build_seconds": 30.0,
    "peak_mb": 1024.0,
    "index_loss": 0.005,
}


# ---------------------------------------------------------------------------------------------
# output helpers


def table(title: str, headers: list[str], rows: list[list]) -> str:
    """A plain aligned table: text left, numbers right."""

    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
        return "" if v is None else str(v)

    body = [[cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)
    ]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in rows) and rows
        for i in range(len(headers))
    ]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    out = [title, line(headers), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in body)
    return "\n".join(out)


def confusion_row(label: str, c: dict) -> list:
    """One table row of a confusion summary: label, n, TP, FP, TN, FN, precision, recall, F1."""
    keys = ("n", "tp", "fp", "tn", "fn", "precision", "recall", "f1")
    return [label, *(c[k] for k in keys)]


def verdict(value: float | None, target: float, higher_is_better: bool) -> str:
    if value is None:
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "PASS" if ok else "MISS"


def short(text: str, width: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def confusion(scores: list[float], labels: list[bool], threshold: float) -> dict:
    tp = sum(1 for s, y in zip(scores, labels, strict=True) if y and s >= threshold)
    fp = sum(1 for s, y in zip(scores, labels, strict=True) if not y and s >= threshold)
    fn = sum(1 for s, y in zip(scores, labels, strict=True) if y and s < threshold)
    tn = len(scores) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": round(threshold, 3),
        "n": len(scores),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def best_threshold(scores: list[float], labels: list[bool]) -> dict:
    best = None
    for step in range(50, 96):
        c = confusion(scores, labels, step / 100)
        if best is None or c["f1"] > best["f1"]:
            best = c
    return best


def targets(r: dict) -> list[dict]:
    neg = [r["recall"][k] for k in ("negatives_global", "negatives_us")]
    fp_per_1000 = round(1000 * sum(x["false_positives"] for x in neg) / sum(x["n"] for x in neg), 2)
    # METI recall counts a hit on another list's entry for the same body (see the table).
    translit = r["meti"]["kinds"].get("transliterated", {}).get("same_body_recall_at_5")
    translated = r["meti"]["kinds"].get("translated", {}).get("same_body_recall_at_5")
    cases = r.get("cases", {}).get("accuracy")
    s = r["speed"]
    rows = [
        (
            "F1 on the 826 pairs (default threshold)",
            r["pairs"]["sanctrace"]["f1"],
            TARGETS["pairs_f1"],
            True,
        ),
        (
            "METI transliterated recall@5 (same body)",
            translit,
            TARGETS["meti_translit_recall5"],
            True,
        ),
        (
            "METI translated recall@5 (same body)",
            translated,
            TARGETS["meti_translated_recall5"],
            True,
        ),
        ("generated labelled set accuracy", cases, TARGETS["cases_accuracy"], True),
        (
            "negatives FP per 1,000 (name only)",
            fp_per_1000,
            TARGETS["negatives_fp_per_1000"],
            False,
        ),
        (
            "queries per second (one core)",
            s["queries_per_second"],
            TARGETS["queries_per_second"],
            True,
        ),
        ("p99 latency ms", s["p99_ms"], TARGETS["p99_ms"], False),
        ("index build s", s["build_seconds"], TARGETS["build_seconds"], False),
        ("peak memory MB", s["peak_mb"], TARGETS["peak_mb"], False),
        (
            "index loss (exhaustive accepts missed)",
            r["index_recall"]["loss"],
            TARGETS["index_loss"],
            False,
        ),
    ]
    return [
        {
            "metric": name,
            "value": value,
            "target": ("≥ " if hi else "≤ ") + f"{target:g}",
            "verdict": verdict(value, target, hi),
        }
        for name, value, target, hi in rows
    ]


def report(r: dict, examples: int = 5) -> str:
    thr = r["meta"]["default_threshold"]
    parts = []
    ours, lv2 = r["pairs"]["sanctrace"], r["pairs"]["logic_v2"]
    rows = []
    for label, c in ((f"sanctrace @ {thr}", ours), ("logic-v2 @ 0.7", lv2)):
        rows.append(confusion_row(label, c))
    for label, c in (("sanctrace best", ours["best"]), ("logic-v2 best", lv2["best"])):
        rows.append(confusion_row(f"{label} @ {c['threshold']:.2f}", c))
    parts.append(
        table(
            f"Labelled pairs (nomenklatura bench cases); target F1 ≥ {TARGETS['pairs_f1']}; "
            f"logic-v2: {lv2['source']}",
            ["matcher", "n", "TP", "FP", "TN", "FN", "precision", "recall", "F1"],
            rows,
        )
    )
    parts.append(
        table(
            "Labelled pairs by case group (sanctrace, default threshold)",
            ["group", "n", "TP", "FP", "TN", "FN", "precision", "recall", "F1"],
            [confusion_row(g, c) for g, c in ours["by_group"].items()],
        )
    )
    m = r["meti"]
    meti_targets = {
        "transliterated": TARGETS["meti_translit_recall5"],
        "translated": TARGETS["meti_translated_recall5"],
    }
    rows = [
        [
            kind,
            k["n"],
            k["recall_at_1"],
            k["recall_at_5"],
            k.get("same_body_recall_at_1"),
            k.get("same_body_recall_at_5"),
            k.get("hits_through_other_list"),
            k["recall_at_5_default_threshold"],
            k["wrong_top1_above_threshold"],
            f"≥ {meti_targets[kind]}" if kind in meti_targets else "",
            verdict(k.get("same_body_recall_at_5"), meti_targets[kind], True)
            if kind in meti_targets
            else "",
        ]
        for kind, k in m["kinds"].items()
    ]
    rows.append(
        [
            "all",
            m["all"]["n"],
            m["all"]["recall_at_1"],
            m["all"]["recall_at_5"],
            None,
            None,
            None,
            None,
            None,
            "",
            "",
        ]
    )
    parts.append(
        table(
            "METI Japanese → English (index: 559 English names + OFAC + UN; rank at threshold 0). "
            "'same body': a hit on the METI entry or on another list's entry whose name matches "
            "the METI English name at ≥ 0.9 (OFAC's own entry for a METI-listed company); the "
            "target is on that column",
            [
                "class",
                "n",
                "recall@1",
                "recall@5",
                "body@1",
                "body@5",
                "via other list",
                f"@5 ≥ {thr}",
                "wrong top1 ≥ thr",
                "target",
                "",
            ],
            rows,
        )
    )
    rc = r["recall"]
    rows = [
        [
            "cross-script pairs (screen)",
            rc["cross_script"]["n"],
            rc["cross_script"]["recall"],
            rc["cross_script"]["top1"],
        ],
        [
            "cross-script pairs (pairwise)",
            rc["cross_script"]["n"],
            rc["cross_script"]["pairwise_recall"],
            None,
        ],
        ["Putin renderings", rc["putin"]["n"], rc["putin"]["recall"], rc["putin"]["top1"]],
    ]
    for key, label in (
        ("un_listed", "UN persons as listed"),
        ("un_listed_evidence", "  + birth date, nationality"),
        ("un_perturbed", "UN persons perturbed"),
        ("un_perturbed_evidence", "  + birth date, nationality"),
    ):
        rows.append([label, rc[key]["n"], rc[key]["recall"], rc[key]["top1"]])
    parts.append(
        table(
            f"Recall at the default threshold {thr} (top 5); UN rows unresolved: {rc['un_unresolved']}",
            ["set", "n", "recall", "top-1"],
            rows,
        )
    )
    rows = []
    for key, label in (
        ("negatives_global", "negatives global"),
        ("negatives_global_evidence", "  + birth date, nationality"),
        ("negatives_us", "negatives US"),
        ("negatives_us_evidence", "  + birth date, nationality"),
    ):
        x = rc[key]
        target = key.endswith(("global", "us"))  # the target is on the name alone
        rows.append(
            [
                label,
                x["n"],
                x["false_positives"],
                x["fp_per_1000"],
                f"≤ {TARGETS['negatives_fp_per_1000']:g}" if target else "",
                verdict(x["fp_per_1000"], TARGETS["negatives_fp_per_1000"], False)
                if target
                else "",
            ]
        )
    parts.append(
        table(
            f"Negatives at the default threshold {thr}",
            ["set", "n", "FP", "FP/1000", "target", ""],
            rows,
        )
    )
    if "cases" in r:
        cs = r["cases"]
        rows = [
            [cls, c["label"], c["n"], c["accuracy"], c["false_matches"], c["missed"]]
            for cls, c in cs["classes"].items()
        ]
        rows.append(["all", "", cs["n"], cs["accuracy"], None, None])
        parts.append(
            table(
                f"Generated labelled set (names_cases.py, from OFAC 2024 + UN, pairwise at "
                f"{thr}); target accuracy ≥ {TARGETS['cases_accuracy']}",
                ["class", "label", "n", "accuracy", "false matches", "missed"],
                rows,
            )
        )
    ir = r["index_recall"]
    rows = [
        [k, v["queries"], v["accepted_exhaustive"], v["missed_by_index"], v["loss"], v["top5_loss"]]
        for k, v in ir["sets"].items()
    ]
    rows.append(
        [
            "all",
            ir["queries"],
            ir["accepted_exhaustive"],
            ir["missed_by_index"],
            ir["loss"],
            ir["top5_loss"],
        ]
    )
    parts.append(
        table(
            f"Candidate index recall vs exhaustive scoring (≥ {thr}); target loss ≤ {TARGETS['index_loss']:.3f}; "
            f"bypass = compare: {ir['bypass_equals_compare']}, "
            f"pruned = unpruned: {ir['pruned_equals_unpruned']}",
            ["queries from", "queries", "accepted", "missed", "loss", "top-5 loss"],
            rows,
        )
    )
    s = r["speed"]
    parts.append(
        table(
            f"Speed: {s['entities']} entities / {s['names']} names, {s['queries']} mixed queries, one core "
            f"(parse {s['parse_seconds']} s, not counted in the build)",
            ["metric", "value"],
            [
                ["queries/s", s["queries_per_second"]],
                ["p50 ms", s["p50_ms"]],
                ["p90 ms", s["p90_ms"]],
                ["p99 ms", s["p99_ms"]],
                ["max ms", s["max_ms"]],
                ["build s", s["build_seconds"]],
                ["RSS after parse MB", s["rss_after_parse_mb"]],
                ["RSS after build MB", s["rss_after_build_mb"]],
                ["peak RSS MB", s["peak_mb"]],
                ["queries with a match", s["queries_with_match"]],
            ],
        )
    )
    parts.append(
        table(
            "Latency by query kind",
            ["kind", "n", "p50 ms", "p99 ms"],
            [[k, v["n"], v["p50_ms"], v["p99_ms"]] for k, v in s["by_kind"].items()],
        )
    )
    parts.append(
        table(
            "Targets",
            ["metric", "value", "target", "verdict"],
            [[t["metric"], t["value"], t["target"], t["verdict"]] for t in r["targets"]],
        )
    )
    if examples:
        parts.append(failure_examples(r, examples))
    return "\n\n".join(parts)


def failure_examples(r: dict, k: int) -> str:
    """A few failures of each kind (all of them are in the JSON), for tuning."""
    lines = [f"Failure examples (first {k} of each; more in the JSON)"]

    def top(m: dict | None) -> str:
        if not m:
            return "nothing"
        return f"{short(m['name'], 40)} {m['score']:.3f} [{short(m['explanation'], 90)}]"

    ours = r["pairs"]["sanctrace"]
    lines.append("pairs, false negatives (lowest scores):")
    for e in ours["false_negatives"][:k]:
        lines.append(f"  {e['schema']}: {e['name1']!r} ~ {e['name2']!r} {e['score']:.3f}")
    lines.append("pairs, false positives (highest scores):")
    for e in ours["false_positives"][:k]:
        lines.append(
            f"  {e['schema']}: {e['name1']!r} ~ {e['name2']!r} {e['score']:.3f} "
            f"[{short(e['explanation'], 90)}]"
        )
    for kind, misses in r["meti"]["misses"].items():
        lines.append(f"METI {kind}, not first:")
        for e in misses[:k]:
            lines.append(
                f"  {short(e['name_ja'], 30)} = {short(e['name_en'], 40)!r}: rank {e['rank']}, "
                f"score {e['target_score']}; top {top(e['top'])}"
            )
    rc = r["recall"]
    for key in ("cross_script", "putin", "un_listed", "un_perturbed", "un_perturbed_evidence"):
        lines.append(f"{key}, missed:")
        for e in rc[key]["misses"][:k]:
            extra = f", expected scores {e['expected_score']}" if "expected_score" in e else ""
            lines.append(f"  {e['query']!r}{extra}; top {top(e['top'])}")
    for key in ("negatives_global", "negatives_us"):
        lines.append(f"{key}, false positives:")
        for e in rc[key]["examples"][:k]:
            lines.append(f"  {e['query']!r} → {top(e)}")
    lines.append("index recall, accepted by the exhaustive scoring but not retrieved:")
    for e in r["index_recall"]["examples"][:k]:
        lines.append(f"  [{e['set']}] {e['query']!r} → {top(e)}")
    return "\n".join(lines)
