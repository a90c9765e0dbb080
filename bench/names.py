"""Benchmark: name-screening quality and speed against the real lists (not a timed test).

Quality, on the labelled sets in ``../shared/data/matching`` (``SANCTRACE_SHARED_DATA``):

- the 826 labelled pairs: precision, recall and F1 at the default threshold, beside
  OpenSanctions' logic-v2 (live when ``nomenklatura`` is installed — the ``bench`` extra —
  else its precomputed scores, said so in the output);
- METI's 559 Japanese↔English pairs screened against the 559 English names plus the full
  OFAC and UN lists: recall@1 and recall@5, transliterated and translated names apart;
- the cross-script pairs, the renderings of one name, the UN positives (as listed and
  perturbed), the generated negatives (false positives per 1,000 queries);
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
import numpy as np  # noqa: E402

import names_data as nd  # noqa: E402

RESULTS = nd.ROOT / "bench" / "results"
SEED = 20260301

TARGETS = {
    "pairs_f1": 0.85,
    "meti_translit_recall5": 0.90,
    "negatives_fp_per_1000": 10.0,
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


# ---------------------------------------------------------------------------------------------
# screeners


def build_screener(entities: list) -> tuple[object, float]:
    from sanctrace.names import Screener

    start = time.perf_counter()
    screener = Screener.from_entities(entities)
    return screener, time.perf_counter() - start


def entity_keys(entities: list) -> dict[str, set[str]]:
    return {e.id: {nd.name_key(n.value) for n in e.names} for e in entities}


class Exhaustive:
    """Every list name scored (the index bypassed): what an indexed screen should find.

    Same code path as ``screen`` with the candidate step returning every indexed name, so the
    scores are those of ``compare`` (one query, one entity) without re-normalising the lists.
    With ``prune`` the names that cannot score are skipped first: those with no token near any
    query token (Levenshtein similarity over every transliteration below the scorer's
    ``min_pair``, no shared phonetic skeleton, no initial of the same letter) and no
    whole-string resemblance. That is what makes a few hundred exhaustive queries affordable;
    the report says whether pruned and unpruned answers agree on spot checks.
    """

    def __init__(self, screener) -> None:
        tokens: dict[str, int] = {}
        self.screener = screener
        self.unique: list = []
        cols: list[int] = []
        starts: list[int] = []
        forward: list[str] = []
        backward: list[str] = []
        for indexed in screener.names:
            starts.append(len(cols))
            for token in indexed.name.tokens:
                if token.raw not in tokens:
                    tokens[token.raw] = len(self.unique)
                    self.unique.append(token)
                cols.append(tokens[token.raw])
            latin = [t.latin for t in indexed.name.tokens]
            forward.append("".join(latin))
            backward.append("".join(reversed(latin)))
        self.cols = np.asarray(cols, dtype=np.int64)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.empty = np.diff(np.append(self.starts, len(cols))) == 0
        self.forward, self.backward = forward, backward
        # Every Latin form of every distinct list token, and who owns it.
        self.forms: list[str] = []
        form_starts: list[int] = []
        self.skeletons: dict[str, list[int]] = defaultdict(list)
        for i, token in enumerate(self.unique):
            form_starts.append(len(self.forms))
            self.forms.extend(token.forms or (token.raw,))
            for skel in token.skeletons:
                self.skeletons[skel].append(i)
        self.form_starts = np.asarray(form_starts, dtype=np.int64)
        self.first = np.asarray([t.latin[:1] for t in self.unique])
        self.initial = np.asarray([t.is_initial for t in self.unique], dtype=bool)
        try:
            from sanctrace.names.scorer import WEIGHTS

            self.min_pair = min(0.5, float(WEIGHTS.get("min_pair", 0.5)))
        except ImportError:
            self.min_pair = 0.5

    def _candidates(self, qname, limit: int = 0) -> list[int]:
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        if not qname.tokens or not self.unique:
            return []
        q_forms = [f for t in qname.tokens for f in (t.forms or (t.raw,))]
        sims = process.cdist(
            q_forms,
            self.forms,
            scorer=Levenshtein.normalized_similarity,
            score_cutoff=self.min_pair,
            dtype=np.float32,
            workers=1,
        )
        best = np.maximum.reduceat(sims.max(axis=0), self.form_starts)
        for token in qname.tokens:
            for skel in token.skeletons:
                best[self.skeletons.get(skel, [])] = 1.0
            letter = token.latin[:1]
            same = self.first == letter
            best[same & (self.initial | token.is_initial)] = 1.0
        per_token = best[self.cols]
        starts = np.minimum(self.starts, max(0, len(per_token) - 1))
        per_name = np.maximum.reduceat(per_token, starts)
        per_name[self.empty] = 0.0
        keep = per_name >= self.min_pair
        joined = "".join(t.latin for t in qname.tokens)
        scorer = Levenshtein.normalized_similarity
        fwd = process.cdist([joined], self.forward, scorer=scorer, workers=1)[0]
        bwd = process.cdist([joined], self.backward, scorer=scorer, workers=1)[0]
        keep |= np.maximum(fwd, bwd) >= 0.7
        return [int(i) for i in np.flatnonzero(keep)]

    def __call__(self, query, threshold: float, prune: bool = True) -> list:
        index = self.screener.index
        if prune:
            index.candidates = self._candidates
        else:
            everything = list(range(len(self.screener.names)))
            index.candidates = lambda name, limit=0: everything
        try:
            return self.screener.screen(query, top=10**9, threshold=threshold)
        finally:
            del index.candidates


def exhaustive_slow(screener, query, entities: list, threshold: float) -> list:
    """The same through the public ``compare``, entity by entity (used as a spot check)."""
    out = []
    for entity in entities:
        match = screener.compare(query, entity)
        if match is not None and match.score >= threshold:
            out.append(match)
    return sorted(out, key=lambda m: -m.score)


# ---------------------------------------------------------------------------------------------
# sections


def section_pairs(screener, threshold: float, quick: bool, use_live: bool) -> dict:
    from sanctrace.model import NameQuery

    cases = nd.pair_cases()
    if quick:
        cases = cases[::4]
    scores, labels, details = [], [], []
    start = time.perf_counter()
    for i, case in enumerate(cases):
        entity = nd.make_entity(f"pair:{i}", case["schema"], case["name2"])
        match = screener.compare(NameQuery(case["name1"], schema=case["schema"]), entity)
        score = match.score if match is not None else 0.0
        scores.append(score)
        labels.append(case["is_match"])
        details.append(
            (case, score, match.explanation if match is not None else "no comparable name")
        )
    seconds = time.perf_counter() - start
    ours = confusion(scores, labels, threshold)
    ours["best"] = best_threshold(scores, labels)
    ours["seconds"] = round(seconds, 2)
    groups = defaultdict(list)
    for (case, score, _), label in zip(details, labels, strict=True):
        groups[case["case_group"]].append((score, label))
    ours["by_group"] = {
        g: confusion([s for s, _ in v], [y for _, y in v], threshold)
        for g, v in sorted(groups.items())
    }
    fns = sorted((d for d in details if d[0]["is_match"] and d[1] < threshold), key=lambda d: d[1])
    fps = sorted(
        (d for d in details if not d[0]["is_match"] and d[1] >= threshold), key=lambda d: -d[1]
    )

    def example(d) -> dict:
        case, score, why = d
        return {
            "group": case["case_group"],
            "schema": case["schema"],
            "name1": case["name1"],
            "name2": case["name2"],
            "score": score,
            "explanation": why,
        }

    ours["false_negatives"] = [example(d) for d in fns[:25]]
    ours["false_positives"] = [example(d) for d in fps[:25]]
    ours["scores"] = [
        [c["name1"], c["name2"], c["schema"], c["is_match"], s] for c, s, _ in details
    ]
    return {"sanctrace": ours, "logic_v2": logic_v2(cases, use_live)}


def logic_v2(cases: list[dict], use_live: bool) -> dict:
    """OpenSanctions' logic-v2 on the same pairs: live, else the precomputed scores."""
    labels = [c["is_match"] for c in cases]
    error = None
    if use_live:
        try:
            from importlib.metadata import version

            from followthemoney import model
            from nomenklatura.matching import LogicV2
        except ImportError as exc:  # the bench extra is not installed
            error = f"nomenklatura not importable ({exc.name or exc})"
        else:
            config = LogicV2.default_config()
            start = time.perf_counter()
            scores = []
            for i, case in enumerate(cases):
                query = model.make_entity(case["schema"])
                query.id = f"q{i}"  # distinct ids: logic-v2 caches names by entity id
                query.add("name", case["name1"])
                result = model.make_entity(case["schema"])
                result.id = f"r{i}"
                result.add("name", case["name2"])
                scores.append(float(LogicV2.compare(query, result, config).score))
            out = confusion(scores, labels, 0.7)
            out["best"] = best_threshold(scores, labels)
            out.update(
                source=f"live (nomenklatura {version('nomenklatura')})",
                seconds=round(time.perf_counter() - start, 2),
            )
            return out
    else:
        error = "live run disabled (--no-live-logicv2)"
    stored = nd.logicv2_precomputed()
    pairs = [
        (stored[key], y)
        for c, y in zip(cases, labels, strict=True)
        if (key := (c["schema"], c["name1"], c["name2"])) in stored
    ]
    out = confusion([s for s, _ in pairs], [y for _, y in pairs], 0.7)
    out["best"] = best_threshold([s for s, _ in pairs], [y for _, y in pairs])
    out["source"] = (
        f"precomputed nomenklatura_logicv2_scores.csv, {len(pairs)} of {len(cases)} cases ({error})"
    )
    return out


def section_meti(screener, pairs: list[dict], threshold: float) -> dict:
    from sanctrace.model import NameQuery

    per_kind: dict[str, dict] = {}
    misses: dict[str, list] = defaultdict(list)
    start = time.perf_counter()
    ranks = []
    for row in pairs:
        target = f"meti:{row['list_no']}"
        results = screener.screen(
            NameQuery(row["name_ja"], schema="LegalEntity"), top=5, threshold=0.0
        )
        rank = next((k for k, m in enumerate(results, 1) if m.entity_id == target), None)
        score = next((m.score for m in results if m.entity_id == target), None)
        ranks.append(rank)
        stats = per_kind.setdefault(row["kind"], Counter())
        stats["n"] += 1
        stats["at1"] += rank == 1
        stats["at5"] += rank is not None
        stats["at5_threshold"] += rank is not None and score >= threshold
        top = results[0] if results else None
        if top is not None and top.entity_id != target and top.score >= threshold:
            stats["wrong_top_above_threshold"] += 1
        if rank != 1:
            misses[row["kind"]].append(
                {
                    "list_no": row["list_no"],
                    "name_ja": row["name_ja"],
                    "name_en": row["name_en"],
                    "rank": rank,
                    "target_score": score,
                    "top": (
                        {
                            "entity_id": top.entity_id,
                            "name": top.matched_name,
                            "score": top.score,
                            "via": top.query_name,
                            "explanation": top.explanation,
                        }
                        if top
                        else None
                    ),
                }
            )
    out = {"seconds": round(time.perf_counter() - start, 2), "threshold_for_rank": 0.0, "kinds": {}}
    for kind, s in sorted(per_kind.items()):
        n = s["n"]
        out["kinds"][kind] = {
            "n": n,
            "recall_at_1": round(s["at1"] / n, 4),
            "recall_at_5": round(s["at5"] / n, 4),
            "recall_at_5_default_threshold": round(s["at5_threshold"] / n, 4),
            "wrong_top1_above_threshold": s["wrong_top_above_threshold"],
        }
    total = len(pairs)
    out["all"] = {
        "n": total,
        "recall_at_1": round(sum(r == 1 for r in ranks) / total, 4),
        "recall_at_5": round(sum(r is not None for r in ranks) / total, 4),
    }
    out["misses"] = {k: v[:40] for k, v in misses.items()}
    return out


def screen_hits(screener, queries: list, expected: list[set[str]], threshold: float) -> dict:
    """Recall at the threshold (top 5) of queries whose expected entity ids are known."""
    hits, top1, missed = 0, 0, []
    for query, want in zip(queries, expected, strict=True):
        results = screener.screen(query, top=5, threshold=threshold)
        ids = [m.entity_id for m in results]
        if want & set(ids):
            hits += 1
            top1 += ids[0] in want
        else:
            best = results[0] if results else None
            missed.append(
                {
                    "query": query.name,
                    "birth_date": query.birth_date,
                    "country": query.country,
                    "top": None
                    if best is None
                    else {
                        "entity_id": best.entity_id,
                        "name": best.matched_name,
                        "score": best.score,
                        "explanation": best.explanation,
                    },
                }
            )
    n = len(queries)
    return {
        "n": n,
        "recall": round(hits / n, 4) if n else None,
        "top1": round(top1 / n, 4) if n else None,
        "misses": missed[:40],
    }


def best_expected_score(screener, query, want: set[str]) -> float | None:
    """The expected entity's score with no threshold (to say how far a miss was)."""
    for m in screener.screen(query, top=50, threshold=0.0):
        if m.entity_id in want:
            return m.score
    return None


def section_recall_sets(base, extended, keys_base, keys_ext, threshold: float, quick: bool) -> dict:
    from sanctrace.model import NameQuery

    rng = random.Random(SEED)
    out: dict = {}

    # Cross-script pairs: the expected Latin name is indexed (extended screener) as a Person.
    xs = nd.cross_script_pairs()
    queries = [NameQuery(r["query"], schema="Person") for r in xs]
    want = [{i for i, k in keys_ext.items() if nd.name_key(r["expected"]) in k} for r in xs]
    res = screen_hits(extended, queries, want, threshold)
    pair_scores = []
    for i, r in enumerate(xs):
        m = extended.compare(
            NameQuery(r["query"], schema="Person"), nd.make_entity(f"x{i}", "Person", r["expected"])
        )
        pair_scores.append(m.score if m else 0.0)
    res["pairwise_recall"] = round(sum(s >= threshold for s in pair_scores) / len(xs), 4)
    res["pairwise_at_file_min_score"] = round(
        sum(s >= r["min_score"] for s, r in zip(pair_scores, xs, strict=True)) / len(xs), 4
    )
    res["pairs"] = [
        {"query": r["query"], "expected": r["expected"], "score": s, "file_min": r["min_score"]}
        for r, s in zip(xs, pair_scores, strict=True)
    ]
    out["cross_script"] = res

    # Putin renderings: he is on the 2024 SDN list (added if a future list lacks him).
    putin_key = nd.name_key("PUTIN, Vladimir Vladimirovich")
    want_putin = {i for i, k in keys_ext.items() if putin_key in k}
    variants = nd.putin_variants()
    res = screen_hits(
        extended,
        [NameQuery(v, schema="Person") for v in variants],
        [want_putin] * len(variants),
        threshold,
    )
    res["expected_ids"] = sorted(want_putin)
    for miss in res["misses"]:
        miss["expected_score"] = best_expected_score(
            extended, NameQuery(miss["query"], schema="Person"), want_putin
        )
    out["putin"] = res

    # UN positives: the expected entity is the UN entity with the as-listed name.
    listed = nd.persons_csv("un_persons_positives.csv")
    perturbed = nd.persons_csv("un_persons_positives_perturbed.csv")
    by_key: dict[str, set[str]] = defaultdict(set)
    for entity_id, ks in keys_base.items():
        if entity_id.startswith("un_sc_sanctions:"):
            for k in ks:
                by_key[k].add(entity_id)
    rows = list(zip(listed, perturbed, strict=False))
    if quick:
        rows = rng.sample(rows, min(len(rows), 150))
    resolved = [
        (a, b, by_key[nd.name_key(a["full_name"])])
        for a, b in rows
        if by_key.get(nd.name_key(a["full_name"]))
    ]
    out["un_unresolved"] = len(rows) - len(resolved)
    for label, pick in (("un_listed", 0), ("un_perturbed", 1)):
        for evidence in (False, True):
            qs = [
                NameQuery(
                    r[pick]["full_name"],
                    schema="Person",
                    birth_date=(r[pick].get("date_of_birth") or None) if evidence else None,
                    country=(r[pick].get("nationality") or None) if evidence else None,
                )
                for r in resolved
            ]
            res = screen_hits(base, qs, [r[2] for r in resolved], threshold)
            for miss in res["misses"][:15]:
                q = NameQuery(
                    miss["query"],
                    schema="Person",
                    birth_date=miss["birth_date"],
                    country=miss["country"],
                )
                want_ids = next(r[2] for r in resolved if r[pick]["full_name"] == miss["query"])
                miss["expected_score"] = best_expected_score(base, q, want_ids)
            out[f"{label}{'_evidence' if evidence else ''}"] = res

    # Negatives: any match at the threshold is a false positive.
    for name in ("negatives_global.csv", "negatives_us.csv"):
        rows = nd.persons_csv(name)
        if quick:
            rows = rng.sample(rows, min(len(rows), 250))
        for evidence in (False, True):
            fp, examples = 0, []
            for r in rows:
                q = NameQuery(
                    r["full_name"],
                    schema="Person",
                    birth_date=(r.get("date_of_birth") or None) if evidence else None,
                    country=(r.get("nationality") or None) if evidence else None,
                )
                results = base.screen(q, top=1, threshold=threshold)
                if results:
                    fp += 1
                    m = results[0]
                    examples.append(
                        {
                            "query": r["full_name"],
                            "birth_date": q.birth_date,
                            "country": q.country,
                            "entity_id": m.entity_id,
                            "name": m.matched_name,
                            "score": m.score,
                            "explanation": m.explanation,
                        }
                    )
            key = name.removesuffix(".csv") + ("_evidence" if evidence else "")
            out[key] = {
                "n": len(rows),
                "false_positives": fp,
                "fp_per_1000": round(1000 * fp / len(rows), 2),
                "examples": sorted(examples, key=lambda e: -e["score"])[:40],
            }
    return out


_JOBS: list = []  # (set, screener, scan, query, threshold): filled before the workers fork


def _index_recall_job(i: int) -> tuple[int, int, int, int, list]:
    label, screener, scan, q, threshold = _JOBS[i]
    full = scan(q, threshold)
    indexed = screener.screen(q, top=10**9, threshold=threshold)
    got = {m.entity_id for m in indexed}
    lost = [m for m in full if m.entity_id not in got]
    # What a user sees: the exhaustive top 5 against the indexed top 5.
    top_full = {m.entity_id for m in full[:5]}
    top_missed = len(top_full - {m.entity_id for m in indexed[:5]})
    examples = [
        {
            "set": label,
            "query": q.name,
            "entity_id": m.entity_id,
            "name": m.matched_name,
            "score": m.score,
            "explanation": m.explanation,
            "in_exhaustive_top5": m.entity_id in top_full,
        }
        for m in lost[:2]
    ]
    return len(full), len(lost), len(top_full), top_missed, examples


def section_index_recall(
    base, extended, lists, threshold: float, quick: bool, workers: int = 1
) -> dict:
    """What the indexed screen misses of the exhaustive scoring's accepted (query, entity) pairs."""
    from sanctrace.model import NameQuery

    rng = random.Random(SEED + 1)
    per_set = 15 if quick else 30
    sets: dict[str, tuple[object, list]] = {
        "un_listed": (
            base,
            [
                NameQuery(r["full_name"], schema="Person")
                for r in nd.persons_csv("un_persons_positives.csv")
            ],
        ),
        "un_perturbed": (
            base,
            [
                NameQuery(r["full_name"], schema="Person")
                for r in nd.persons_csv("un_persons_positives_perturbed.csv")
            ],
        ),
        "negatives": (
            base,
            [
                NameQuery(r["full_name"], schema="Person")
                for r in nd.persons_csv("negatives_global.csv") + nd.persons_csv("negatives_us.csv")
            ],
        ),
        "putin": (extended, [NameQuery(v, schema="Person") for v in nd.putin_variants()]),
        "cross_script": (
            extended,
            [NameQuery(r["query"], schema="Person") for r in nd.cross_script_pairs()],
        ),
        "meti": (
            extended,
            [NameQuery(r["name_ja"], schema="LegalEntity") for r in nd.meti_pairs()],
        ),
        "speed_mix": (base, [q for _, q in nd.speed_queries(lists, 10_000, SEED)]),
    }
    out: dict = {"sets": {}, "per_set_sample": per_set, "workers": workers}
    scan = {id(base): Exhaustive(base), id(extended): Exhaustive(extended)}
    jobs = []
    for label, (screener, queries) in sets.items():
        count = (2 * per_set if quick else 100) if label == "speed_mix" else per_set
        for q in rng.sample(queries, min(count, len(queries))):
            jobs.append((label, screener, scan[id(screener)], q, threshold))
    start = time.perf_counter()
    _JOBS[:] = jobs
    try:
        if workers > 1:  # forked workers share the built screeners (copy on write)
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(workers) as pool:
                answers = pool.map(_index_recall_job, range(len(jobs)), chunksize=2)
        else:
            answers = [_index_recall_job(i) for i in range(len(jobs))]
    finally:
        _JOBS.clear()
    total_accept = total_missed = total_top = total_top_missed = 0
    examples = []
    for (label, *_), (accepted, missed, top_accepted, top_missed, lost) in zip(
        jobs, answers, strict=True
    ):
        row = out["sets"].setdefault(label, Counter())
        row["queries"] += 1
        row["accepted_exhaustive"] += accepted
        row["missed_by_index"] += missed
        row["top5_accepted"] += top_accepted
        row["top5_missed"] += top_missed
        examples.extend(lost)
        total_accept += accepted
        total_missed += missed
        total_top += top_accepted
        total_top_missed += top_missed
    for label, row in out["sets"].items():
        row = out["sets"][label] = dict(row)
        acc, top = row["accepted_exhaustive"], row["top5_accepted"]
        row["loss"] = round(row["missed_by_index"] / acc, 4) if acc else 0.0
        row["top5_loss"] = round(row["top5_missed"] / top, 4) if top else 0.0
    out["queries"] = sum(s["queries"] for s in out["sets"].values())
    out["accepted_exhaustive"] = total_accept
    out["missed_by_index"] = total_missed
    out["loss"] = round(total_missed / total_accept, 4) if total_accept else 0.0
    out["top5_accepted"] = total_top
    out["top5_missed"] = total_top_missed
    out["top5_loss"] = round(total_top_missed / total_top, 4) if total_top else 0.0
    out["examples"] = examples[:40]
    out["seconds"] = round(time.perf_counter() - start, 1)
    # Spot checks: pruning changes nothing; the bypass agrees with ``compare`` entity by entity.
    checks = ["Vladimir Putin", "ABDULHAI SALEK", "Rosoboronexport"][: 1 if quick else 3]
    same = True
    for name in checks:
        q = NameQuery(name)
        pruned = {m.entity_id: m.score for m in scan[id(base)](q, threshold)}
        full = {m.entity_id: m.score for m in scan[id(base)](q, threshold, prune=False)}
        same &= pruned == full
    out["pruned_equals_unpruned"] = same
    q = NameQuery("Vladimir Putin", schema="Person")
    fast = {m.entity_id: m.score for m in scan[id(base)](q, threshold)}
    slow = {m.entity_id: m.score for m in exhaustive_slow(base, q, lists.entities, threshold)}
    out["bypass_equals_compare"] = fast == slow
    return out


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


def targets(r: dict) -> list[dict]:
    neg = [r["recall"][k] for k in ("negatives_global", "negatives_us")]
    fp_per_1000 = round(1000 * sum(x["false_positives"] for x in neg) / sum(x["n"] for x in neg), 2)
    translit = r["meti"]["kinds"].get("transliterated", {}).get("recall_at_5")
    s = r["speed"]
    rows = [
        (
            "F1 on the 826 pairs (default threshold)",
            r["pairs"]["sanctrace"]["f1"],
            TARGETS["pairs_f1"],
            True,
        ),
        ("METI transliterated recall@5", translit, TARGETS["meti_translit_recall5"], True),
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
        rows.append(
            [
                label,
                c["n"],
                c["tp"],
                c["fp"],
                c["tn"],
                c["fn"],
                c["precision"],
                c["recall"],
                c["f1"],
            ]
        )
    for label, c in (("sanctrace best", ours["best"]), ("logic-v2 best", lv2["best"])):
        rows.append(
            [
                f"{label} @ {c['threshold']:.2f}",
                c["n"],
                c["tp"],
                c["fp"],
                c["tn"],
                c["fn"],
                c["precision"],
                c["recall"],
                c["f1"],
            ]
        )
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
            [
                [
                    g,
                    c["n"],
                    c["tp"],
                    c["fp"],
                    c["tn"],
                    c["fn"],
                    c["precision"],
                    c["recall"],
                    c["f1"],
                ]
                for g, c in ours["by_group"].items()
            ],
        )
    )
    m = r["meti"]
    rows = [
        [
            kind,
            k["n"],
            k["recall_at_1"],
            k["recall_at_5"],
            k["recall_at_5_default_threshold"],
            k["wrong_top1_above_threshold"],
            f"≥ {TARGETS['meti_translit_recall5']}" if kind == "transliterated" else "",
            verdict(k["recall_at_5"], TARGETS["meti_translit_recall5"], True)
            if kind == "transliterated"
            else "",
        ]
        for kind, k in m["kinds"].items()
    ]
    rows.append(
        ["all", m["all"]["n"], m["all"]["recall_at_1"], m["all"]["recall_at_5"], None, None, "", ""]
    )
    parts.append(
        table(
            "METI Japanese → English (index: 559 English names + OFAC + UN; rank at threshold 0)",
            ["class", "n", "recall@1", "recall@5", f"@5 ≥ {thr}", "wrong top1 ≥ thr", "target", ""],
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


if __name__ == "__main__":
    main()
