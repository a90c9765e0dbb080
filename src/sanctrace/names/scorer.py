"""Pair scoring: order-free, rarity-weighted token alignment with an explanation in words.

The name score is the mean of two coverages: how much of the query's token weight is matched
in the list name, and how much of the list name's weight is matched by the query. A token's
weight is its rarity in the indexed lists, so a common given name counts less than a rare
surname; patronymics and particles (bin, al, von) count a third when present at all. Token
pairs are compared on every transliteration (Levenshtein similarity, rapidfuzz) and on their
phonetic skeletons. How each aligned pair agrees (``agreement``: exactly, within a typo, by
nickname, or only approximately) decides its credit: approximate pairs count at a fraction, so
two rough tokens never make a match unless a birth date or nationality agrees. An acronym
meets the initials of a run of tokens. Secondary evidence then moves the score: birth date,
country, identifiers, legal form and the kinds of party.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from sanctrace.countries import country_code
from sanctrace.customer_dates import readable_date
from sanctrace.names.agreement import (
    FULL_CREDIT,
    STRONG,
    agreement,
    nickname_groups,
    same_nickname,
)
from sanctrace.names.legal_forms import LegalForm, compatible
from sanctrace.names.normalize import PATRONYMIC_ENDINGS, NameToken, NormalizedName
from sanctrace.names.structure import abbreviations, acronym_pairs, distinguishing, nasab_crossed

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
    "nickname_match": 0.9,  # Bill against William, Sasha against Aleksandr
    "approximate_credit": 0.7,  # share of credit for a pair that agrees only roughly
    "no_strong_cap": 0.7,  # the most a name scores when no token agrees strongly
    "acronym_match": 0.9,  # PLA against People's Liberation Army
    "abbreviation_match": 0.85,  # Int'l against International
    "distinguishing": 0.3,  # conflict when a country is in one company's name only
    "nasab_order": 0.3,  # conflict when the son in one name is the father in the other
    "joined_exact_min": 5,  # letters from which an exactly equal glued name counts
    "kind_mismatch": -0.2,  # a person against a listed entity that is not a person
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
    c_nick = [nickname_groups(ct.latin) for ct in tokens]
    for i, qt in enumerate(query):
        qs, q_strict = set(qt.skeletons), set(qt.strict)
        q_latin = qt.script in LATIN_SCRIPTS
        q_nick = nickname_groups(qt.latin)
        for j, ct in enumerate(tokens):
            sim = matrix[i, j]
            if (q_nick or c_nick[j]) and sim < WEIGHTS["nickname_match"] and _nicknames(qt, ct):
                matrix[i, j] = sim = WEIGHTS["nickname_match"]
            if qt.is_initial or ct.is_initial:
                if qt.latin.isdigit() or ct.latin.isdigit():
                    continue  # a digit is a number, not an initial: 3 against three
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


def _patronymic(token: NameToken) -> bool:
    """A patronymic in any of its spellings (Borisovitch is Borisovich)."""
    return token.patronymic or any(
        len(f) > 5 and f.endswith(PATRONYMIC_ENDINGS) for f in token.forms[:3]
    )


def _nicknames(a: NameToken, b: NameToken) -> bool:
    return same_nickname(a, b) or same_nickname(b, a)


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
    kinds: list[str] = field(default_factory=list)  # how each pair agrees (``agreement``)
    acronyms: list[tuple[NameToken, list[NameToken]]] = field(default_factory=list)
    held_back: float = 0.0  # what approximate pairs lost; a birth date or nationality returns it
    differ: list[tuple[NameToken, NameToken]] = field(default_factory=list)  # alike, not equal
    crossed: list[NameToken] = field(
        default_factory=list
    )  # the person in one, a father in the other
    marks: list[NameToken] = field(default_factory=list)  # a country in one name only

    def describe(self) -> str:
        parts = [
            f"'{q.raw}'≈'{c.raw}' {s:.2f}" + ("" if k in _PLAIN else f" ({k})")
            for (q, c, s), k in zip(self.pairs, self.kinds or [""] * len(self.pairs), strict=True)
        ]
        parts += [
            f"'{a.raw}' = initials of '{' '.join(t.raw for t in run)}'" for a, run in self.acronyms
        ]
        text = "tokens " + ", ".join(parts) if parts else "no aligned tokens"
        if self.differ:
            text += "; different names: " + ", ".join(
                f"'{q.raw}'/'{c.raw}'" for q, c in self.differ
            )
        if self.missing:
            text += "; not in list name: " + ", ".join(f"'{t.raw}'" for t in self.missing)
        if self.extra:
            text += "; only in list name: " + ", ".join(
                f"'{t.raw}'" + (" (optional)" if t.optional else "") for t in self.extra
            )
        if self.marks:
            names = ", ".join(f"'{t.raw}'" for t in self.marks)
            text += f"; {names} in one name only: another entity"
        if self.crossed:
            names = ", ".join(f"'{t.raw}'" for t in self.crossed)
            text += f"; {names}: the person in one name, the father in the other"
        if self.conflict and self.joined is None:
            cut = WEIGHTS["conflict"] * self.conflict
            text += f"; tokens differ on both sides (-{cut:.0%})"
        if self.held_back and self.joined is None:
            text += (
                "; no token agrees strongly"
                if not self.strong
                else f"; approximate tokens count {WEIGHTS['approximate_credit']:.0%}"
            ) + f" (-{self.held_back:.2f})"
        if self.joined is not None:
            text += f"; as one string {self.joined:.2f}"
        return text

    @property
    def strong(self) -> bool:
        """Some full token agrees strongly (exactly, within a typo, as a nickname …)."""
        return any(k in STRONG for k in self.kinds) or bool(self.acronyms)


_PLAIN = frozenset({"", "exact", "close", "native", "initial"})  # not named in the text


def effective_weight(token: NameToken, rarity: float) -> float:
    """A token's weight in a comparison: its rarity, less for initials and patronymics."""
    if token.is_initial:
        return rarity * WEIGHTS["initial_weight"]
    return rarity * WEIGHTS["optional_weight"] if token.optional else rarity


def _align(
    query: NormalizedName, candidate: NormalizedName, matrix: np.ndarray
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one alignment of token pairs, most alike first."""
    rows = matrix.tolist()
    cells = sorted(
        ((sim, i, j) for i, row in enumerate(rows) for j, sim in enumerate(row)),
        key=lambda cell: -cell[0],
    )
    used_q: set[int] = set()
    used_c: set[int] = set()
    out = []
    for sim, i, j in cells:
        if sim < WEIGHTS["min_pair"]:
            break
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        out.append((i, j, sim))
    return out


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
    aligned = _align(query, candidate, matrix)
    if aligned and all(
        query.tokens[i].is_initial or candidate.tokens[j].is_initial for i, j, _ in aligned
    ):
        # Initials alone (B S COMPANY, N.N.) say nothing: some full token must agree.
        aligned = []
    kinds = [agreement(query.tokens[i], candidate.tokens[j])[0] for i, j, _ in aligned]
    # Antonia and Antonio, ming and ping: alike on paper, different names: not aligned.
    differ = [
        (query.tokens[i], candidate.tokens[j])
        for (i, j, _), k in zip(aligned, kinds, strict=True)
        if k == "differs"
    ]
    aligned = [a for a, k in zip(aligned, kinds, strict=True) if k != "differs"]
    kinds = [k for k in kinds if k != "differs"]
    aligned += abbreviations(query, candidate, aligned, WEIGHTS["abbreviation_match"])
    kinds += ["abbreviation"] * (len(aligned) - len(kinds))
    pairs = [(query.tokens[i], candidate.tokens[j], sim) for i, j, sim in aligned]
    used_q = {i for i, _, _ in aligned}
    used_c = {j for _, j, _ in aligned}
    strong = any(k in STRONG for k in kinds)
    acronyms = acronym_pairs(query, candidate, used_q, used_c, strong)
    w = weight
    q_total = sum(w(t) for t in query.tokens)
    c_total = sum(w(t) for t in candidate.tokens)
    q_full = c_full = q_hit = c_hit = 0.0
    for (q, c, s), kind in zip(pairs, kinds, strict=True):
        got = credit(s)
        cut = 1.0 if kind in FULL_CREDIT else WEIGHTS["approximate_credit"]
        q_full += w(q) * got
        c_full += w(c) * got
        q_hit += w(q) * got * cut
        c_hit += w(c) * got * cut
    acro = WEIGHTS["acronym_match"]
    for side, i, run in acronyms:
        one, other = (query, candidate) if side == "q" else (candidate, query)
        mine, theirs = w(one.tokens[i]) * acro, sum(w(other.tokens[j]) for j in run) * acro
        q_add, c_add = (mine, theirs) if side == "q" else (theirs, mine)
        q_hit, q_full = q_hit + q_add, q_full + q_add
        c_hit, c_full = c_hit + c_add, c_full + c_add
    q_left = sum(w(t) for i, t in enumerate(query.tokens) if i not in used_q and not t.optional)
    c_left = sum(w(t) for j, t in enumerate(candidate.tokens) if j not in used_c and not t.optional)
    conflict = min(q_left / q_total, c_left / c_total)
    # Two different patronymics name two different fathers, whatever else agrees.
    if any(map(_patronymic, query.tokens)) and any(map(_patronymic, candidate.tokens)):
        matched = {id(q) for q, _, _ in pairs} | {id(c) for _, c, _ in pairs}
        if any(_patronymic(t) and id(t) not in matched for t in query.tokens) and any(
            _patronymic(t) and id(t) not in matched for t in candidate.tokens
        ):
            conflict = max(conflict, WEIGHTS["patronymic_conflict"])
    marks = distinguishing(query, used_q) + distinguishing(candidate, used_c)
    if marks:
        conflict = max(conflict, WEIGHTS["distinguishing"])
    crossed = nasab_crossed(query, candidate, aligned)
    if crossed:
        conflict = max(conflict, WEIGHTS["nasab_order"])
    keep = 1.0 - WEIGHTS["conflict"] * conflict
    score = 0.5 * (q_hit / q_total + c_hit / c_total) * keep
    full = 0.5 * (q_full / q_total + c_full / c_total) * keep
    if len(pairs) >= 2 and not strong and not acronyms:
        # No token agrees strongly: a possible match only with a birth date or nationality.
        score = min(score, WEIGHTS["no_strong_cap"])
    result = NameComparison(
        score,
        pairs,
        [t for i, t in enumerate(query.tokens) if i not in used_q],
        [t for j, t in enumerate(candidate.tokens) if j not in used_c],
        conflict=conflict,
        kinds=kinds,
        acronyms=[
            (
                (query if side == "q" else candidate).tokens[i],
                [(candidate if side == "q" else query).tokens[j] for j in run],
            )
            for side, i, run in acronyms
        ],
        held_back=round(max(0.0, full - score), 6),
        differ=differ,
        crossed=crossed,
        marks=marks,
    )
    if score < WEIGHTS["joined_factor"]:
        # Split or glued tokens (SiemensAG); a string similarity can only raise the score.
        # With as many tokens on both sides, only a moved space (AREFULLAHA REF) counts.
        if len(query.tokens) == len(candidate.tokens):
            joined = 1.0 if _same_letters(query, candidate) else 0.0
        else:
            joined = joined_similarity(query, candidate)
        joined *= WEIGHTS["joined_factor"]
        if joined > score:
            result.score, result.joined, result.held_back = joined, joined, 0.0
    return result


def _same_letters(query: NormalizedName, candidate: NormalizedName) -> bool:
    """The same letters in the same (or reversed) order, spaces elsewhere: AREFULLAHA REF."""
    q = "".join(t.latin for t in query.tokens)
    if len(q) < WEIGHTS["joined_exact_min"]:
        return False
    c = [t.latin for t in candidate.tokens]
    return q == "".join(c) or q == "".join(reversed(c))


def joined_similarity(query: NormalizedName, candidate: NormalizedName) -> float:
    q = "".join(t.latin for t in query.tokens)
    c_tokens = [t.latin for t in candidate.tokens]
    joins = ["".join(c_tokens)] + (["".join(reversed(c_tokens))] if len(c_tokens) > 1 else [])
    # A legal form glued to a name (SiemensAG) was not taken off it: also compare it glued.
    joins += [joins[0] + f.code.casefold() for f in candidate.legal_forms[:2]]
    if query.legal_forms and len(query.tokens) == 1 and len(c_tokens) == 1:
        joins += [
            c_tokens[0][: -len(f.code)]
            for f in query.legal_forms[:2]
            if c_tokens[0].endswith(f.code.casefold())
        ]
    # A one-token query is often a reading written without spaces (キヨタジロウ): each of its
    # readings is tried, not only the likeliest.
    forms = query.tokens[0].forms if len(query.tokens) == 1 else (q,)
    best = max(Levenshtein.normalized_similarity(f, c) for f in forms for c in joins)
    shortest = min(len(q), sum(map(len, c_tokens)))
    if best == 1.0 and shortest >= WEIGHTS["joined_exact_min"]:
        return best  # PolPot and Pol Pot: the same letters, only the space differs
    # Short strings meet by chance: no credit below eight letters.
    return best if shortest >= 8 else 0.0


@dataclass
class Evidence:
    """What the secondary facts of a list entity do to a name score.

    Unpacks as ``(delta, floor, notes)``; ``features`` names each fact that moved it (the
    keys a verdict reads: ``birth_date``, ``country``, ``identifier`` agreeing when > 0).
    """

    delta: float
    floor: float
    notes: list[str]
    features: dict[str, float] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.delta, self.floor, self.notes))

    @property
    def corroborated(self) -> bool:
        """A fact beside the name agrees: birth date or year, country, an identifier."""
        return any(self.features.get(k, 0.0) > 0 for k in CORROBORATING)


CORROBORATING = ("birth_date", "country", "identifier")


def corroborated(features: dict[str, float]) -> bool:
    """Whether a match's features say that a fact beside the name agrees."""
    return any(features.get(k, 0.0) > 0 for k in CORROBORATING)


def evidence(
    query_birth: str | None,
    query_country: str | None,
    query_ids: Sequence[str],
    query_forms: Sequence[LegalForm],
    entity: dict[str, Any],
    comparison: NameComparison | None = None,
    kinds: tuple[str | None, str | None] = (None, None),
) -> Evidence:
    """The adjustment, floor and phrases from the secondary facts of a list entity.

    ``comparison``: the name comparison, whose held-back credit an agreeing birth date or
    nationality returns. ``kinds``: the schemas of the query and of the list entity.
    """
    delta, floor, notes = 0.0, 0.0, []
    features: dict[str, float] = {}
    query_birth, unread = readable_date(query_birth)  # 昭和63年5月5日 as ISO, or a note
    notes.extend([unread] if unread else [])
    births = entity.get("birthDate") or []
    if query_birth and births:
        year = query_birth[:4]
        if query_birth in births:
            features["birth_date"] = WEIGHTS["birth_date_exact"]
            notes.append(f"birth date {query_birth} matches (+{WEIGHTS['birth_date_exact']:.2f})")
        elif any(b[:4] == year or year in b.split("/") for b in births):
            features["birth_date"] = WEIGHTS["birth_year_match"]
            notes.append(f"birth year {year} matches (+{WEIGHTS['birth_year_match']:.2f})")
        elif all(_year_gap(year, b) > 1 for b in births):
            features["birth_date"] = WEIGHTS["birth_year_mismatch"]
            notes.append(
                f"birth year {year} differs from {', '.join(births[:2])} "
                f"({WEIGHTS['birth_year_mismatch']:.2f})"
            )
    countries = {country_code(c) or c.casefold() for c in entity.get("countries") or []}
    if query_country and countries:
        if (country_code(query_country) or query_country.casefold()) in countries:
            features["country"] = WEIGHTS["country_match"]
            notes.append(f"country {query_country} matches (+{WEIGHTS['country_match']:.2f})")
        else:
            features["country"] = WEIGHTS["country_mismatch"]
            notes.append(f"country {query_country} differs ({WEIGHTS['country_mismatch']:.2f})")
    delta += sum(features.values())
    ids = {_id_key(i) for i in entity.get("identifiers") or []}
    shared = [i for i in query_ids if _id_key(i) in ids]
    if shared:
        floor = WEIGHTS["identifier_match"]
        features["identifier"] = 1.0
        notes.append(f"identifier {shared[0]} matches")
    agrees = features.get("birth_date", 0.0) > 0 or features.get("country", 0.0) > 0
    if comparison is not None and comparison.held_back and agrees:
        # Rough tokens are a possible match when the person's other facts agree.
        delta += comparison.held_back
        features["approximate_lifted"] = comparison.held_back
        notes.append(f"approximate tokens count in full beside that (+{comparison.held_back:.2f})")
    query_kind, entity_kind = kinds
    if query_kind == "Person" and entity_kind is not None and entity_kind != "Person":
        delta += WEIGHTS["kind_mismatch"]
        features["kind"] = WEIGHTS["kind_mismatch"]
        notes.append(f"a person against a {entity_kind} ({WEIGHTS['kind_mismatch']:.2f})")
    forms = entity.get("legal_forms") or ()
    if compatible(list(query_forms), list(forms)) is False:
        notes.append(
            f"legal forms differ ({', '.join(f.code for f in query_forms)} vs "
            f"{', '.join(f.code for f in forms)}, -{1 - WEIGHTS['legal_form_mismatch']:.2f})"
        )
        delta -= 1.0 - WEIGHTS["legal_form_mismatch"]
        features["legal_form"] = -(1.0 - WEIGHTS["legal_form_mismatch"])
    return Evidence(delta, floor, notes, features)


def _year_gap(year: str, value: str) -> int:
    try:
        years = [int(part[:4]) for part in value.split("/")]
        return min(abs(int(year) - y) for y in years)
    except ValueError:
        return 0


def _id_key(value: str) -> str:
    value = value.split(":", 1)[-1]
    return "".join(ch for ch in value.upper() if ch.isalnum())
