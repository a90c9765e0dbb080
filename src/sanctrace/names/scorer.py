"""Pair scoring: order-free, rarity-weighted token alignment with an explanation in words.

The name score is the mean of two coverages: how much of the query's token weight is matched
in the list name, and how much of the list name's weight is matched by the query. A token's
weight is its rarity in the indexed lists, so a common given name counts less than a rare
surname; patronymics and particles (bin, al, von) count a third when present at all. Token
pairs are compared on every transliteration (Levenshtein similarity, rapidfuzz) and on their
phonetic skeletons. Secondary evidence then moves the score: birth date, country, identifiers,
legal form and schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from sanctrace.countries import country_code
from sanctrace.names.legal_forms import LegalForm, compatible
from sanctrace.names.normalize import NameToken, NormalizedName

# Named feature weights and limits: every one appears in explanations.
WEIGHTS = {
    "skeleton_match": 0.9,  # token similarity granted when phonetic skeletons agree
    "short_skeleton_match": 0.8,  # the same for skeletons of three letters or fewer
    "initial_match": 0.9,  # "J" against "Joachim"
    "initial_weight": 0.5,  # an initial carries half a token's weight
    "optional_weight": 0.35,  # patronymics and particles
    "latin_skeleton_min": 0.6,  # Latin-Latin pairs need this similarity to use skeletons
    "conflict": 1.0,  # both names keep a token the other lacks: a different person
    "patronymic_conflict": 0.3,  # counted as this share of conflicting weight
    "min_pair": 0.65,  # token pairs below this similarity are not aligned
    "full_credit": 0.75,  # similarities from here up count as they are
    "joined_factor": 0.9,  # "FridrichBuchenberg" compared as one string
    "legal_form_mismatch": 0.85,  # LLC against a state enterprise
    "birth_date_exact": 0.05,
    "birth_year_match": 0.02,
    "birth_year_mismatch": -0.12,
    "country_match": 0.02,
    "country_mismatch": -0.03,
    "identifier_match": 0.97,  # floor when an identifier agrees
}

LATIN_SCRIPTS = frozenset({"Latin", "Common"})
NATIVE_SCRIPTS = frozenset({"Han", "Japanese", "Hangul"})

SCHEMA_GROUPS = {
    "Person": "person",
    "Company": "org",
    "Organization": "org",
    "PublicBody": "org",
    "Vessel": "vessel",
    "Airplane": "airplane",
}


def schemas_compatible(query: str | None, candidate: str) -> bool:
    """A Person query does not match a Vessel; LegalEntity (and no schema) matches any party."""
    if not query or query in ("LegalEntity", "Thing"):
        return candidate not in ("Vessel", "Airplane") or query == "Thing" or not query
    if candidate in ("LegalEntity", "Thing"):
        return query not in ("Vessel", "Airplane")
    return SCHEMA_GROUPS.get(query, query) == SCHEMA_GROUPS.get(candidate, candidate)


def credit(sim: float) -> float:
    """Similarity to credit: full above ``full_credit``, falling steeply below it."""
    if sim >= WEIGHTS["full_credit"]:
        return sim
    low = WEIGHTS["min_pair"]
    return max(0.0, sim * (sim - low) / (WEIGHTS["full_credit"] - low))


def token_matrix(query: Sequence[NameToken], tokens: Sequence[NameToken]) -> np.ndarray:
    """Similarity of every query token to every candidate token, in one batch."""
    q_forms, q_owner = _flatten(query)
    c_forms, c_owner = _flatten(tokens)
    if not q_forms or not c_forms:
        return np.zeros((len(query), len(tokens)), dtype=np.float32)
    # OSA: a transposed pair of letters (LAKAHL) is one edit, not two.
    sims = process.cdist(q_forms, c_forms, scorer=OSA.normalized_similarity, workers=1)
    by_col = np.maximum.reduceat(sims, _starts(c_owner), axis=1)
    matrix = np.maximum.reduceat(by_col, _starts(q_owner), axis=0).astype(np.float32)
    for i, qt in enumerate(query):
        qs, q_strict = set(qt.skeletons), set(qt.strict)
        q_latin = qt.script in LATIN_SCRIPTS
        for j, ct in enumerate(tokens):
            sim = matrix[i, j]
            if qt.is_initial or ct.is_initial:
                same = qt.latin[:1] == ct.latin[:1]
                matrix[i, j] = WEIGHTS["initial_match"] if same else 0.0
            elif qt.script == ct.script and qt.script in NATIVE_SCRIPTS:
                # Two names in the same CJK script: compare the characters, not their
                # readings (高市 and 高石, 김종은 and 김정은 read alike).
                matrix[i, j] = Levenshtein.normalized_similarity(qt.raw, ct.raw)
            elif sim < WEIGHTS["skeleton_match"]:
                if q_latin and ct.script in LATIN_SCRIPTS:
                    # Both written in Latin letters: the spelling itself is evidence, so a
                    # shared skeleton needs l/r kept apart and the letters not too far off.
                    if sim >= WEIGHTS["latin_skeleton_min"] and q_strict.intersection(ct.strict):
                        matrix[i, j] = WEIGHTS["skeleton_match"]
                elif shared := qs.intersection(ct.skeletons):
                    short = max(map(len, shared)) <= 3  # Lin, Kim: keys that many names share
                    matrix[i, j] = WEIGHTS["short_skeleton_match" if short else "skeleton_match"]
    return matrix


def _flatten(tokens: Sequence[NameToken]) -> tuple[list[str], list[int]]:
    forms, owner = [], []
    for i, token in enumerate(tokens):
        for form in token.forms[:4]:
            forms.append(form)
            owner.append(i)
    return forms, owner


def _starts(owner: list[int]) -> list[int]:
    return [k for k in range(len(owner)) if k == 0 or owner[k] != owner[k - 1]]


@dataclass
class NameComparison:
    """How one query name met one list name."""

    score: float
    pairs: list[tuple[NameToken, NameToken, float]] = field(default_factory=list)
    missing: list[NameToken] = field(default_factory=list)  # query tokens not found
    extra: list[NameToken] = field(default_factory=list)  # list-name tokens not matched
    joined: float | None = None  # whole-string similarity when it decided the score
    conflict: float = 0.0  # share of weight unmatched on both sides

    def describe(self) -> str:
        parts = [f"'{q.raw}'≈'{c.raw}' {s:.2f}" for q, c, s in self.pairs]
        text = "tokens " + ", ".join(parts) if parts else "no aligned tokens"
        if self.missing:
            text += "; not in list name: " + ", ".join(f"'{t.raw}'" for t in self.missing)
        if self.extra:
            text += "; only in list name: " + ", ".join(
                f"'{t.raw}'" + (" (optional)" if t.optional else "") for t in self.extra
            )
        if self.conflict and self.joined is None:
            cut = WEIGHTS["conflict"] * self.conflict
            text += f"; tokens differ on both sides (-{cut:.0%})"
        if self.joined is not None:
            text += f"; as one string {self.joined:.2f}"
        return text


def effective_weight(token: NameToken, rarity: float) -> float:
    """A token's weight in a comparison: its rarity, less for initials and patronymics."""
    if token.is_initial:
        return rarity * WEIGHTS["initial_weight"]
    return rarity * WEIGHTS["optional_weight"] if token.optional else rarity


def compare_names(
    query: NormalizedName,
    candidate: NormalizedName,
    weight: Callable[[NameToken], float],
    matrix: np.ndarray | None = None,
) -> NameComparison:
    """Score two names; ``matrix`` is their token similarity (computed when not given).

    ``weight`` gives each token's effective weight (see ``effective_weight``).
    """
    if not query.tokens or not candidate.tokens:
        return NameComparison(0.0)
    if matrix is None:
        matrix = token_matrix(query.tokens, candidate.tokens)
    rows = matrix.tolist()
    cells = sorted(
        ((sim, i, j) for i, row in enumerate(rows) for j, sim in enumerate(row)),
        key=lambda cell: -cell[0],
    )
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for sim, i, j in cells:
        if sim < WEIGHTS["min_pair"]:
            break
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        pairs.append((query.tokens[i], candidate.tokens[j], sim))
    if pairs and all(q.is_initial or c.is_initial for q, c, _ in pairs):
        # Initials alone (B S COMPANY, N.N.) say nothing: some full token must agree.
        pairs, used_q, used_c = [], set(), set()
    w = weight
    q_total = sum(w(t) for t in query.tokens)
    c_total = sum(w(t) for t in candidate.tokens)
    q_hit = sum(w(q) * credit(s) for q, _, s in pairs)
    c_hit = sum(w(c) * credit(s) for _, c, s in pairs)
    score = 0.5 * (q_hit / q_total + c_hit / c_total)
    q_left = sum(w(t) for i, t in enumerate(query.tokens) if i not in used_q and not t.optional)
    c_left = sum(w(t) for j, t in enumerate(candidate.tokens) if j not in used_c and not t.optional)
    conflict = min(q_left / q_total, c_left / c_total)
    # Two different patronymics name two different fathers, whatever else agrees.
    if any(t.patronymic for t in query.tokens) and any(t.patronymic for t in candidate.tokens):
        matched = {id(q) for q, _, _ in pairs} | {id(c) for _, c, _ in pairs}
        if any(t.patronymic and id(t) not in matched for t in query.tokens) and any(
            t.patronymic and id(t) not in matched for t in candidate.tokens
        ):
            conflict = max(conflict, WEIGHTS["patronymic_conflict"])
    score *= 1.0 - WEIGHTS["conflict"] * conflict
    result = NameComparison(
        score,
        pairs,
        [t for i, t in enumerate(query.tokens) if i not in used_q],
        [t for j, t in enumerate(candidate.tokens) if j not in used_c],
        conflict=conflict,
    )
    if len(query.tokens) != len(candidate.tokens) and score < WEIGHTS["joined_factor"]:
        # Split or glued tokens (SiemensAG); a string similarity can only raise the score.
        joined = joined_similarity(query, candidate) * WEIGHTS["joined_factor"]
        if joined > score:
            result.score, result.joined = joined, joined
    return result


def joined_similarity(query: NormalizedName, candidate: NormalizedName) -> float:
    q = "".join(t.latin for t in query.tokens)
    c_tokens = [t.latin for t in candidate.tokens]
    best = Levenshtein.normalized_similarity(q, "".join(c_tokens))
    if len(c_tokens) > 1:
        best = max(best, Levenshtein.normalized_similarity(q, "".join(reversed(c_tokens))))
    # Short strings meet by chance: no credit below eight letters.
    return best if min(len(q), sum(map(len, c_tokens))) >= 8 else 0.0


def evidence(
    query_birth: str | None,
    query_country: str | None,
    query_ids: Sequence[str],
    query_forms: Sequence[LegalForm],
    entity: dict[str, Any],
) -> tuple[float, float, list[str]]:
    """(additive adjustment, floor, phrases) from the secondary facts of a list entity."""
    delta, floor, notes = 0.0, 0.0, []
    births = entity.get("birthDate") or []
    if query_birth and births:
        year = query_birth[:4]
        if query_birth in births:
            delta += WEIGHTS["birth_date_exact"]
            notes.append(f"birth date {query_birth} matches (+{WEIGHTS['birth_date_exact']:.2f})")
        elif any(b[:4] == year or year in b.split("/") for b in births):
            delta += WEIGHTS["birth_year_match"]
            notes.append(f"birth year {year} matches (+{WEIGHTS['birth_year_match']:.2f})")
        elif all(_year_gap(year, b) > 1 for b in births):
            delta += WEIGHTS["birth_year_mismatch"]
            notes.append(
                f"birth year {year} differs from {', '.join(births[:2])} "
                f"({WEIGHTS['birth_year_mismatch']:.2f})"
            )
    countries = {country_code(c) or c.casefold() for c in entity.get("countries") or []}
    if query_country and countries:
        if (country_code(query_country) or query_country.casefold()) in countries:
            delta += WEIGHTS["country_match"]
            notes.append(f"country {query_country} matches (+{WEIGHTS['country_match']:.2f})")
        else:
            delta += WEIGHTS["country_mismatch"]
            notes.append(f"country {query_country} differs ({WEIGHTS['country_mismatch']:.2f})")
    ids = {_id_key(i) for i in entity.get("identifiers") or []}
    shared = [i for i in query_ids if _id_key(i) in ids]
    if shared:
        floor = WEIGHTS["identifier_match"]
        notes.append(f"identifier {shared[0]} matches")
    forms = entity.get("legal_forms") or ()
    if compatible(list(query_forms), list(forms)) is False:
        notes.append(
            f"legal forms differ ({', '.join(f.code for f in query_forms)} vs "
            f"{', '.join(f.code for f in forms)}, -{1 - WEIGHTS['legal_form_mismatch']:.2f})"
        )
        delta -= 1.0 - WEIGHTS["legal_form_mismatch"]
    return delta, floor, notes


def _year_gap(year: str, value: str) -> int:
    try:
        years = [int(part[:4]) for part in value.split("/")]
        return min(abs(int(year) - y) for y in years)
    except ValueError:
        return 0


def _id_key(value: str) -> str:
    value = value.split(":", 1)[-1]
    return "".join(ch for ch in value.upper() if ch.isalnum())
