"""The quality sections of ``bench/names.py``: pairs, METI, recall sets, index recall."""

from __future__ import annotations

import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import names_data as nd  # noqa: E402
from names_report import (  # noqa: E402
    SEED,
    best_threshold,
    confusion,
)

# ---------------------------------------------------------------------------------------------
# screeners


def build_screener(entities: list) -> tuple[object, float]:
    from sanctrace.names import Screener

    start = time.perf_counter()
    screener = Screener.from_entities(entities)
    return screener, time.perf_counter() - start


def entity_keys(entities: list) -> dict[str, set[str]]:
    return {e.id: {nd.name_key(n.value) for n in e.names} for e in entities}


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


SAME_BODY_SCORE = 0.9  # a list entry whose name matches the METI English name this well


def same_body(screener, pairs: list[dict]) -> dict[str, set[str]]:
    """METI entry -> the other lists' entries that name the same body.

    Another list's entry counts when its name strongly matches the METI entry's English name
    (score ≥ ``SAME_BODY_SCORE`` with no threshold help) or shares an identifier with it
    (the METI pairs carry none, so in practice the name).
    """
    from sanctrace.model import NameQuery

    out: dict[str, set[str]] = {}
    for row in pairs:
        target = f"meti:{row['list_no']}"
        found = screener.screen(
            NameQuery(row["name_en"], schema="LegalEntity"), top=10, threshold=SAME_BODY_SCORE
        )
        out[target] = {target} | {m.entity_id for m in found if not m.entity_id.startswith("meti:")}
    return out


def section_meti(screener, pairs: list[dict], threshold: float) -> dict:
    from sanctrace.model import NameQuery

    per_kind: dict[str, dict] = {}
    misses: dict[str, list] = defaultdict(list)
    bodies = same_body(screener, pairs)
    start = time.perf_counter()
    ranks = []
    for row in pairs:
        target = f"meti:{row['list_no']}"
        results = screener.screen(
            NameQuery(row["name_ja"], schema="LegalEntity"), top=5, threshold=0.0
        )
        rank = next((k for k, m in enumerate(results, 1) if m.entity_id == target), None)
        score = next((m.score for m in results if m.entity_id == target), None)
        body_rank = next(
            (k for k, m in enumerate(results, 1) if m.entity_id in bodies[target]), None
        )
        ranks.append(rank)
        stats = per_kind.setdefault(row["kind"], Counter())
        stats["n"] += 1
        stats["at1"] += rank == 1
        stats["at5"] += rank is not None
        stats["body_at1"] += body_rank == 1
        stats["body_at5"] += body_rank is not None
        stats["body_other_list"] += body_rank is not None and rank is None
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
            "same_body_recall_at_1": round(s["body_at1"] / n, 4),
            "same_body_recall_at_5": round(s["body_at5"] / n, 4),
            "hits_through_other_list": s["body_other_list"],
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
