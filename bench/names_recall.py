"""The candidate index's own recall for ``bench/names.py``: what an exhaustive scoring of every
list name accepts that the indexed screen does not retrieve."""

from __future__ import annotations

import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402

import names_data as nd  # noqa: E402
from names_report import SEED  # noqa: E402

_JOBS: list = []  # (set, screener, scan, query, threshold): filled before the workers fork


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
