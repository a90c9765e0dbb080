"""The screener: list entities in, ``Match`` lists out, each with its score explained.

A screener is options (threshold, candidates) over a ``ScreenerData``: built here from
entities (``add`` then ``freeze``, or ``from_entities``) or mapped from a saved index
(``Screener(data=ScreenerData.load(folder))``). The answers are the same either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from sanctrace.model import Entity, Match, NameKind, NameQuery
from sanctrace.names.built import ID_PROPERTIES, Entry, IndexedName, ScreenerData, prepare
from sanctrace.names.index import NameIndex
from sanctrace.names.normalize import (
    NameToken,
    NormalizedName,
    comparable_pair,
    normalize,
    variants,
)
from sanctrace.names.scorer import (
    LATIN_SCRIPTS,
    WEIGHTS,
    NameComparison,
    compare_names,
    evidence,
    joined_similarity,
    schemas_compatible,
    token_matrix,
)
from sanctrace.names.stored import Records

__all__ = [
    "DEFAULT_THRESHOLD",
    "ID_PROPERTIES",
    "Entry",
    "IndexedName",
    "Screener",
    "prepare",
]

DEFAULT_THRESHOLD = 0.75
WEAK_ALIAS_FACTOR = 0.9  # OFAC and the UN call these "low quality"
EVIDENCE_HEADROOM = 0.08  # the most birth date and country can add
NON_LATIN_CANDIDATES = 6  # a query form in another script retrieves this many times more


class Screener:
    """Screens names against a fixed set of list entities (one build, many queries)."""

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        candidates: int = 30,
        data: ScreenerData | None = None,
    ) -> None:
        self.threshold = threshold
        self.limit = candidates
        self._data = data
        self._pending: list[tuple[Entry, list[IndexedName]]] = []

    @classmethod
    def from_entities(cls, entities: Iterable[Entity], **options: Any) -> Screener:
        screener = cls(**options)
        for entity in entities:
            screener.add(entity)
        screener.freeze()
        return screener

    @property
    def data(self) -> ScreenerData:
        """The entries, names and index screened against (built on first use if need be)."""
        if self._data is None:
            self.freeze()
        assert self._data is not None
        return self._data

    @property
    def entries(self) -> Records[Entry]:
        return self.data.entries

    @property
    def names(self) -> Records[IndexedName]:
        return self.data.names

    @property
    def index(self) -> NameIndex:
        return self.data.index

    def __len__(self) -> int:
        if self._data is None:
            return sum(1 for _, names in self._pending if names)
        return len(self._data.entries)

    def add(self, entity: Entity, snapshot_id: int | None = None) -> None:
        """Index one list entity under every name it has (before ``freeze``)."""
        if self._data is not None:
            raise RuntimeError("the screener is frozen: build a new one to add entities")
        self._pending.append(prepare(entity, len(self._pending), snapshot_id))

    def freeze(self) -> None:
        """Build the index over the entities added; call once after the last ``add``."""
        if self._data is None:
            self._data = ScreenerData.build(self._pending)
            self._pending = []

    def weight(self, token: NameToken) -> float:
        """Rarity weight of a token (initials and patronymics already discounted)."""
        return self.data.weight(token)

    def candidate_limit(self, qname: NormalizedName) -> int:
        """How many names a query form retrieves: more for a form not written in Latin
        letters, whose keys come from guessed transliterations and so rank the right name
        lower (a per-script quota; Latin queries, most of the traffic, keep the base)."""
        if qname.script in LATIN_SCRIPTS and qname.via != "translation":
            return self.limit
        return self.limit * NON_LATIN_CANDIDATES

    def threshold_for(self, schema: str | None) -> float:
        """The score a match of ``schema`` needs when the caller sets no threshold."""
        return self.threshold

    def screen(
        self,
        query: NameQuery | str,
        top: int = 5,
        threshold: float | None = None,
        only: set[str] | None = None,
    ) -> list[Match]:
        """The best-scoring entities at or above the threshold, best first.

        ``only`` restricts the answer to those entity ids (re-screening against a delta).
        """
        if isinstance(query, str):
            query = NameQuery(query)
        forms = self._query_forms(query)
        floor = threshold if threshold is not None else self.threshold
        # Evidence can add at most this much; names further below the threshold are dropped
        # before their explanation is written.
        reach = floor - (0.0 if query.identifiers else EVIDENCE_HEADROOM)
        found: dict[int, tuple[float, NormalizedName, IndexedName, NameComparison]] = {}
        for qname in forms:
            name_ids = self.index.candidates(qname, self.candidate_limit(qname))
            if only is not None:
                name_ids = [
                    n for n in name_ids if self.entries[self.names[n].entry].entity_id in only
                ]
            name_ids = [n for n in name_ids if comparable_pair(qname, self.names[n].name)]
            if not name_ids:
                continue
            for name_id, comparison in self._compare_many(qname, name_ids, reach):
                indexed = self.names[name_id]
                score = comparison.score
                if query.birth_date or query.country:  # agreeing facts may return it
                    score += comparison.held_back
                if indexed.kind == NameKind.WEAK_ALIAS:
                    score *= WEAK_ALIAS_FACTOR
                if score < reach:
                    continue
                current = found.get(indexed.entry)
                if current is None or score > current[0]:
                    found[indexed.entry] = (score, qname, indexed, comparison)
        results = []
        for entry_id, (_, qname, indexed, comparison) in found.items():
            entry = self.entries[entry_id]
            if not self._compatible(query, entry):
                continue
            match = self._finish(query, qname, indexed, entry, comparison)
            limit = threshold if threshold is not None else self.threshold_for(match.schema)
            if match.score >= limit:
                results.append(match)
        results.sort(key=lambda m: (-m.score, m.entity_id))
        return results[:top]

    def compare(self, query: NameQuery | str, entity: Entity) -> Match | None:
        """Score one query against one entity (every name of it), without the index."""
        if isinstance(query, str):
            query = NameQuery(query)
        entry, names = prepare(entity, 0, None)
        best: Match | None = None
        if not self._compatible(query, entry):
            return None
        for qname in self._query_forms(query):
            for indexed in names:
                if not comparable_pair(qname, indexed.name):
                    continue
                comparison = compare_names(qname, indexed.name, self.weight)
                match = self._finish(query, qname, indexed, entry, comparison)
                if best is None or match.score > best.score:
                    best = match
        return best

    @staticmethod
    def _compatible(query: NameQuery, entry: Entry) -> bool:
        """Schemas agree; a person is not an entity whose names carry a legal form."""
        if query.schema == "Person" and entry.schema != "Person" and entry.facts["legal_forms"]:
            return False
        return schemas_compatible(query.schema, entry.schema)

    def _query_forms(self, query: NameQuery) -> list[NormalizedName]:
        forms = variants(query.name, query.schema, query.name_kana) if query.name else []
        if query.name_kana:
            reading = normalize(query.name_kana, via="reading", schema=query.schema)
            if reading.tokens:
                forms.append(reading)
        return forms

    def _compare_many(
        self, qname: NormalizedName, name_ids: list[int], reach: float = 0.0
    ) -> Iterator[tuple[int, NameComparison]]:
        """Compare a query with many names through one token-similarity batch.

        Names whose best possible score (every token at its best similarity, no penalty)
        stays under ``reach`` are not compared in full.
        """
        data = self.data
        per_name = [data.token_ids(n) for n in name_ids]
        lengths = np.fromiter((len(t) for t in per_name), dtype=np.int64, count=len(per_name))
        flat = np.concatenate(per_name) if per_name else np.zeros(0, dtype=np.int32)
        unique_ids, inverse = np.unique(flat, return_inverse=True)
        unique = [data.tokens[int(t)] for t in unique_ids]
        matrix = token_matrix(qname.tokens, unique)
        bounds = self._upper_bounds(qname, matrix, inverse, lengths, data.tok_weight[unique_ids])
        starts = np.concatenate(([0], np.cumsum(lengths)))
        for k, (name_id, bound) in enumerate(zip(name_ids, bounds, strict=True)):
            cand = self.names[name_id].name
            if bound < reach and (
                len(cand.tokens) == len(qname.tokens)
                or joined_similarity(qname, cand) * WEIGHTS["joined_factor"] < reach
            ):
                continue  # nor can the whole-string comparison, made when counts differ
            cols = inverse[starts[k] : starts[k + 1]]
            sub = matrix[:, cols] if len(cols) else np.zeros((len(qname.tokens), 0))
            yield name_id, compare_names(qname, cand, data.weight, sub)

    def _upper_bounds(
        self,
        qname: NormalizedName,
        matrix: np.ndarray,
        cols: np.ndarray,
        lengths: np.ndarray,
        unique_weights: np.ndarray,
    ) -> list[float]:
        """For each candidate, the score it would get if every token took its best pair."""
        if not qname.tokens or not len(unique_weights) or not lengths.all():
            return [1.0] * len(lengths)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        q_w = np.array([self.data.weight(t) for t in qname.tokens])
        c_w = unique_weights[cols]
        row_best = np.maximum.reduceat(matrix[:, cols], starts, axis=1)  # query token × name
        q_cover = (q_w[:, None] * row_best).sum(axis=0) / q_w.sum()
        col_best = matrix.max(axis=0)[cols]
        c_cover = np.add.reduceat(c_w * col_best, starts) / np.add.reduceat(c_w, starts)
        bounds: list[float] = (0.5 * (q_cover + c_cover)).tolist()
        return bounds

    def _finish(
        self,
        query: NameQuery,
        qname: NormalizedName,
        indexed: IndexedName,
        entry: Entry,
        comparison: NameComparison,
    ) -> Match:
        score = comparison.score
        notes = [comparison.describe()]
        if indexed.kind == NameKind.WEAK_ALIAS:
            score *= WEAK_ALIAS_FACTOR
            notes.append(f"weak alias (×{WEAK_ALIAS_FACTOR})")
        if qname.via != "name":
            notes.insert(0, f"via the {qname.via} '{qname.latin}'")
        found = evidence(
            query.birth_date,
            query.country,
            query.identifiers,
            qname.legal_forms,
            entry.facts,
            comparison,
            (query.schema, entry.schema),
        )
        delta, floor, extra = found
        score = max(floor, min(1.0, max(0.0, score + delta)))
        notes.extend(extra)
        features = {"name": round(comparison.score, 4), "evidence": round(delta, 4)}
        features.update((k, round(v, 4)) for k, v in found.features.items())
        return Match(
            entity_id=entry.entity_id,
            source=entry.source,
            source_id=entry.source_id,
            schema=entry.schema,
            entity_name=entry.caption,
            matched_name=indexed.value,
            query_name=qname.original,
            score=round(score, 4),
            explanation="; ".join(notes),
            features=features,
            snapshot_id=entry.snapshot_id,
        )
