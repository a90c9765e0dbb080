"""Rules on the structure of two names, beside the token alignment of ``scorer``.

- acronyms: a token that spells the initials of a run of the other name's tokens (PLA,
  People's Liberation Army; JC, Jean-Claude);
- abbreviations: a token that contracts another (Int'l, International);
- son and father: in SALMAN BIN MUHAMMAD the person is Salman; swapped, another person;
- distinguishing tokens: a country in one company's name only (Banco Santander Chile).
"""

from __future__ import annotations

from sanctrace.countries import country_code
from sanctrace.names.agreement import abbreviates, acronym_of
from sanctrace.names.normalize import NameToken, NormalizedName

__all__ = ["abbreviations", "acronym_pairs", "distinguishing", "initials_run", "nasab_crossed"]

LATIN_SCRIPTS = frozenset({"Latin", "Common"})


def acronym_pairs(
    query: NormalizedName,
    candidate: NormalizedName,
    used_q: set[int],
    used_c: set[int],
    strong: bool,
) -> list[tuple[str, int, list[int]]]:
    """Unmatched tokens of one name that spell the initials of a run of the other's.

    An acronym of three letters or more counts when it is the whole name or has no vowel
    (PLA, FSB); any acronym counts beside a strongly agreeing token (U.S. Department of State),
    and the parts of a hyphenated given name too (JC for Jean-Claude).
    """
    found: list[tuple[str, int, list[int]]] = []
    for side, (one, other, used_one, used_other) in (
        ("q", (query, candidate, used_q, used_c)),
        ("c", (candidate, query, used_c, used_q)),
    ):
        for i, token in enumerate(one.tokens):
            letters = token.latin
            if i in used_one or not 2 <= len(letters) <= 8 or not letters.isalpha():
                continue
            free = [j for j in range(len(other.tokens)) if j not in used_other]
            # Cheap test first: a run needs a token per letter, or one hyphenated token.
            if len(free) < len(letters) and not any("-" in other.tokens[j].raw for j in free):
                continue
            run = initials_run(other, free, letters)
            if run is None:
                continue
            hyphen = len(run) == 1
            no_vowel = not set(letters) & set("aeiouy")
            alone = len(one.tokens) == 1 and len(letters) >= 3
            if hyphen or alone or strong or (no_vowel and len(letters) >= 3):
                found.append((side, i, run))
                used_one.add(i)
                used_other.update(run)
    return found


def initials_run(name: NormalizedName, free: list[int], letters: str) -> list[int] | None:
    """The first run of consecutive free tokens whose initials spell ``letters``."""
    free_set = set(free)
    tokens = name.tokens
    for start in free:
        if tokens[start].optional:
            continue
        if acronym_of([tokens[start]]) == letters and "-" in tokens[start].raw:
            return [start]
        run: list[int] = []
        for j in range(start, len(tokens)):
            if j not in free_set:
                break
            run.append(j)
            run_tokens = [tokens[k] for k in run]
            spelled, every = acronym_of(run_tokens), acronym_of(run_tokens, skip=False)
            if letters in (spelled, every) and len(run) >= 2:
                return run
            if not (letters.startswith(spelled) or letters.startswith(every)):
                break
    return None


def abbreviations(
    query: NormalizedName,
    candidate: NormalizedName,
    aligned: list[tuple[int, int, float]],
    sim: float,
) -> list[tuple[int, int, float]]:
    """Unaligned tokens of which one contracts the other (Int'l, International)."""
    used_q = {i for i, _, _ in aligned}
    used_c = {j for _, j, _ in aligned}
    out: list[tuple[int, int, float]] = []
    for i, q in enumerate(query.tokens):
        if i in used_q or q.script not in LATIN_SCRIPTS:
            continue
        for j, c in enumerate(candidate.tokens):
            if j in used_c or c.script not in LATIN_SCRIPTS:
                continue
            if abbreviates(q.latin, c.latin) or abbreviates(c.latin, q.latin):
                out.append((i, j, sim))
                used_c.add(j)
                break
    return out


def distinguishing(name: NormalizedName, used: set[int]) -> list[NameToken]:
    """Unmatched tokens that tell two companies apart: a country in one name only (Banco
    Santander Chile is not Banco Santander). Numbers do not: lists drop and add them."""
    company = bool(name.legal_forms)
    out = []
    for k, token in enumerate(name.tokens):
        if k in used:
            continue
        latin = token.latin
        if company and len(latin) >= 4 and country_code(latin):
            out.append(token)
    return out


_NASAB = frozenset({"bin", "ibn", "ben", "bint", "binti"})


def nasab_crossed(
    query: NormalizedName, candidate: NormalizedName, aligned: list[tuple[int, int, float]]
) -> list[NameToken]:
    """Tokens that name the person in one name and the father in the other.

    In SALMAN BIN MUHAMMAD the person is Salman, son of Muhammad: against MUHAMMAD BIN
    SALMAN the same tokens name the father and the son the other way round.
    """

    def roles(name: NormalizedName) -> tuple[int, int] | None:
        at = next((k for k, t in enumerate(name.tokens) if t.latin in _NASAB), None)
        if at is None or at == 0 or at + 1 >= len(name.tokens):
            return None
        return at - 1, at + 1  # the son, the father

    q_roles, c_roles = roles(query), roles(candidate)
    if q_roles is None or c_roles is None:
        return []
    pairs = {(i, j) for i, j, _ in aligned}
    (q_son, q_father), (c_son, c_father) = q_roles, c_roles
    # Only a swap counts: the son of one is the father of the other, and the other way round.
    if (q_son, c_father) in pairs and (q_father, c_son) in pairs:
        return [query.tokens[q_son], query.tokens[q_father]]
    return []
