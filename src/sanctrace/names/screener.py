"""The screener: list entities in, ``Match`` lists out, each with its score explained."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sanctrace.model import Entity, Match, NameKind, NameQuery
from sanctrace.names.index import NameIndex
from sanctrace.names.legal_forms import LegalForm
from sanctrace.names.normalize import (
    NameToken,
    NormalizedName,
    comparable_pair,
    normalize,
    variants,
)
from sanctrace.names.scorer import (
    WEIGHTS,
    NameComparison,
    compare_names,
    effective_weight,
    evidence,
    joined_similarity,
    schemas_compatible,
    token_matrix,
)

DEFAULT_THRESHOLD = 0.75
WEAK_ALIAS_FACTOR = 0.9  # OFAC and the UN call these "low quality"
EVIDENCE_HEADROOM = 0.08  # the most birth date and country can add
ID_PROPERTIES = (
    "passportNumber",
    "idNumber",
    "taxNumber",
    "innCode",
    "ogrnCode",
    "registrationNumber",
    "imoNumber",
)


@dataclass
class Entry:
    """A list entity as the screener keeps it: identity plus secondary facts."""

    entity_id: str
    source: str
    source_id: str
    schema: str
    caption: str
    snapshot_id: int | None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class IndexedName:
    entry: int
    name: NormalizedName
    value: str
    kind: NameKind


class Screener:
    """Screens names against a fixed set of list entities (one build, many queries)."""

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        candidates: int = 30,
    ) -> None:
        self.threshold = threshold
        self.limit = candidates
        self.entries: list[Entry] = []
        self.names: list[IndexedName] = []
        self.index = NameIndex()
        self._weights: dict[str, float] = {}

    @classmethod
    def from_entities(cls, entities: Iterable[Entity], **options: Any) -> Screener:
        screener = cls(**options)
        for entity in entities:
            screener.add(entity)
        screener.freeze()
        return screener

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entity: Entity, snapshot_id: int | None = None) -> None:
        """Index one list entity under every name it has."""
        entry, names = prepare(entity, len(self.entries), snapshot_id)
        if not names:
            return
        self.entries.append(entry)
        for indexed in names:
            self.names.append(indexed)
            self.index.add(len(self.names) - 1, indexed.name)

    def freeze(self) -> None:
        self.index.freeze()

    def weight(self, token: NameToken) -> float:
        """Rarity weight of a token (initials and patronymics already discounted)."""
        w = self._weights.get(token.raw)
        if w is None:
            w = self._weights[token.raw] = effective_weight(token, self.index.token_weight(token))
        return w

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
            name_ids = self.index.candidates(qname, self.limit)
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
        forms = variants(query.name, query.schema) if query.name else []
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
        tokens: dict[str, int] = {}
        unique: list[NameToken] = []
        for name_id in name_ids:
            for token in self.names[name_id].name.tokens:
                if token.raw not in tokens:
                    tokens[token.raw] = len(unique)
                    unique.append(token)
        matrix = token_matrix(qname.tokens, unique)
        cols_of = [[tokens[t.raw] for t in self.names[n].name.tokens] for n in name_ids]
        bounds = self._upper_bounds(qname, unique, matrix, cols_of)
        for name_id, cols, bound in zip(name_ids, cols_of, bounds, strict=True):
            cand = self.names[name_id].name
            if bound < reach and (
                len(cand.tokens) == len(qname.tokens)
                or joined_similarity(qname, cand) * WEIGHTS["joined_factor"] < reach
            ):
                continue  # nor can the whole-string comparison, made when counts differ
            sub = matrix[:, cols] if cols else np.zeros((len(qname.tokens), 0))
            yield name_id, compare_names(qname, cand, self.weight, sub)

    def _upper_bounds(
        self,
        qname: NormalizedName,
        unique: list[NameToken],
        matrix: np.ndarray,
        cols_of: list[list[int]],
    ) -> list[float]:
        """For each candidate, the score it would get if every token took its best pair."""
        lengths = [len(c) for c in cols_of]
        if not qname.tokens or not unique or not all(lengths):
            return [1.0] * len(cols_of)
        cols = np.fromiter((c for cs in cols_of for c in cs), dtype=np.int64)
        starts = np.cumsum([0, *lengths[:-1]])
        q_w = np.array([self.weight(t) for t in qname.tokens])
        c_w = np.array([self.weight(t) for t in unique])[cols]
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
        delta, floor, extra = evidence(
            query.birth_date,
            query.country,
            query.identifiers,
            qname.legal_forms,
            entry.facts,
        )
        score = max(floor, min(1.0, max(0.0, score + delta)))
        notes.extend(extra)
        features = {"name": round(comparison.score, 4), "evidence": round(delta, 4)}
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


def prepare(
    entity: Entity, entry_id: int, snapshot_id: int | None
) -> tuple[Entry, list[IndexedName]]:
    """The screener's view of an entity: its entry and its normalised names."""
    names: list[IndexedName] = []
    forms: list[LegalForm] = []
    for name in entity.names:
        for norm in variants(name.value, entity.schema):
            forms.extend(norm.legal_forms)
            names.append(IndexedName(entry_id, norm, name.value, name.kind))
    facts = {
        "birthDate": entity.get("birthDate"),
        "countries": [c for p in ("nationality", "country", "citizenship") for c in entity.get(p)],
        "identifiers": [v for p in ID_PROPERTIES for v in entity.get(p)],
        "legal_forms": tuple(dict.fromkeys(forms)),
    }
    entry = Entry(
        entity.id,
        entity.source,
        entity.source_id,
        entity.schema,
        entity.caption,
        snapshot_id,
        facts,
    )
    return entry, names
