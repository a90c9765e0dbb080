"""The second labelled set of ``bench/names.py``: cases generated from the real lists.

Each case is a query, a list entity and the answer a reviewer would give ("match" or not),
made at run time from OFAC 2024 + UN (nothing of the lists is committed), for the failure
classes of issue 15:

====================  ======  ==================================================================
class                 label   query, against the entity it was made from
====================  ======  ==================================================================
old_translit          match   a Russian person's surname the German or French way (Primakow,
                              Primakoff, Tschernow), given name and patronymic as listed
old_translit_other    no      the same rendering of another person's surname
typo_one_token        match   a two-part person name, one typo inside the surname
two_approximate       no      a two-part person name, surname with another first consonant,
                              given name swapped for another listed given name that shares
                              its first letter and little else
cross_kind            no      a person named "<given name> <an organisation's one-word name>"
phonetic_only         no      an organisation's name with its vowels rotated, in Cyrillic:
                              the consonant skeleton agrees, nothing else does
short_acronym         no      a listed acronym (2-4 letters) with one letter changed
acronym_full          match   the initials of a listed organisation of 3-5 words
nickname              match   a listed person under a short form of the given name (Sasha)
nickname_other        no      the same person's surname with another name's short form
cyrillic_translation  match   an organisation's English name put into Russian word by word
====================  ======  ==================================================================

Cases are scored pairwise (``Screener.compare``: the query against that one entity), at the
default threshold, by a screener built on the full lists (so token weights are the real ones).
Every random choice goes through one seeded ``random.Random``.
"""

from __future__ import annotations

import random
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import names_data as nd  # noqa: E402

SEED = 20261203
PER_CLASS = 60

# German and French renderings of the English (BGN-style) spelling of a Russian name.
_GERMAN = (
    ("shch", "schtsch"),
    ("kh", "ch"),
    ("zh", "sch"),
    ("ch", "tsch"),
    ("sh", "sch"),
    ("v", "w"),
    ("ya", "ja"),
    ("yu", "ju"),
    ("ye", "je"),
    ("yo", "jo"),
)
_FRENCH = (("ch", "tch"), ("sh", "ch"), ("zh", "j"), ("u", "ou"))
_CYRILLIC = dict(zip("abcdefghijklmnopqrstuvwyz", "абкдефгхижклмнопкрстуввиз", strict=True)) | {
    "x": "кс"
}
_ROTATE = str.maketrans("aeiou", "oaeiu")
_RECOLOUR = dict(zip("bdgkmnprstvzl", "mnrtbdkgnpfsr", strict=True))


@dataclass
class Case:
    """One labelled case: a query against one list entity."""

    cls: str
    query: Any  # NameQuery
    entity: Any  # Entity
    expected: bool
    note: str = ""


def _surname_first(value: str) -> tuple[str, list[str]] | None:
    """OFAC's 'SURNAME, Given Names' as (surname, given names), else None."""
    if "," not in value:
        return None
    last, _, rest = value.partition(",")
    given = rest.split()
    if not last.strip() or not given or " " in last.strip():
        return None
    return last.strip(), given


def german(surname: str) -> str:
    """Primakov -> Primakow, Chernov -> Tschernow (a German rendering)."""
    text = surname.lower()
    for a, b in _GERMAN:
        text = text.replace(a, b)
    return text.capitalize()


def french(surname: str) -> str:
    """Primakov -> Primakoff, Chernov -> Tchernoff (a French rendering)."""
    text = surname.lower()
    for a, b in _FRENCH:
        text = text.replace(a, b)
    text = re.sub(r"ov$", "off", text)
    text = re.sub(r"ev$", "eff", text)
    return text.capitalize()


def _persons(lists) -> list[tuple[Any, str, list[str]]]:
    out = []
    for e in lists.ofac:
        if e.schema != "Person":
            continue
        parsed = _surname_first(e.names[0].value)
        if parsed:
            out.append((e, *parsed))
    return out


def generate(lists, seed: int = SEED, per_class: int = PER_CLASS) -> list[Case]:
    """The labelled cases, ``per_class`` of each class where the lists allow."""
    from sanctrace.model import NameQuery

    rng = random.Random(seed)
    persons = _persons(lists)
    cases: list[Case] = []

    def pick(pool: list, n: int = per_class) -> list:
        return rng.sample(pool, min(n, len(pool)))

    # Older transliterations: a patronymic present, surname in -ov/-ev/-in.
    russian = [
        p
        for p in persons
        if re.search(r"(ov|ev|in)$", p[1].lower())
        and len(p[2]) >= 2
        and p[2][1].lower().endswith(("vich", "vna"))
    ]
    for k, (e, last, given) in enumerate(pick(russian)):
        style = german if k % 2 == 0 else french
        text = f"{' '.join(given)} {style(last)}"
        cases.append(
            Case("old_translit", NameQuery(text, schema="Person"), e, True, style.__name__)
        )
    others = pick(russian)
    for (e, _, given), (_, other_last, _) in zip(pick(russian), others, strict=False):
        if other_last.lower()[:3] == e.names[0].value.lower()[:3]:
            continue
        text = f"{' '.join(given)} {german(other_last)}"
        cases.append(Case("old_translit_other", NameQuery(text, schema="Person"), e, False))

    # Two-part person names.
    two = [p for p in persons if len(p[2]) == 1 and len(p[1]) >= 5 and len(p[2][0]) >= 4]
    two = [p for p in two if p[1].isalpha() and p[2][0].isalpha()]
    for e, last, given in pick(two):
        i = rng.randrange(2, len(last) - 1)
        typo = last[:i] + last[i + 1] + last[i] + last[i + 2 :]  # a swap inside the surname
        if typo.lower() == last.lower():
            continue
        cases.append(
            Case("typo_one_token", NameQuery(f"{given[0]} {typo}", schema="Person"), e, True)
        )
    from sanctrace.names.translit import skeleton

    groups = _nickname_lines()
    group_of = {name: line for line in groups for name in line}
    givens = sorted({p[2][0].capitalize() for p in two})
    for e, last, given in pick(two):
        first = last[0].lower()
        swap = _RECOLOUR.get(first)
        if swap is None:
            continue
        changed = swap.upper() + last[1:].lower()
        alike = [
            g
            for g in givens
            if g[0].lower() == given[0][0].lower()
            and g.lower() != given[0].lower()
            and 0.55 <= _similarity(g.lower(), given[0].lower()) < 0.75
            and skeleton(g) != skeleton(given[0])  # not a spelling of the same name
            and not set(group_of.get(g.lower(), ())) & set(group_of.get(given[0].lower(), ()))
        ]
        if not alike:
            continue
        text = f"{rng.choice(alike)} {changed}"
        cases.append(Case("two_approximate", NameQuery(text, schema="Person"), e, False))

    # A person whose surname is an organisation's one-word name.
    orgs = [
        e
        for e in lists.entities
        if e.schema == "LegalEntity"
        and len(e.names[0].value.split()) == 1
        and e.names[0].value.isalpha()
        and len(e.names[0].value) >= 4
    ]
    for e in pick(orgs):
        text = f"{rng.choice(givens)} {e.names[0].value.capitalize()}"
        cases.append(Case("cross_kind", NameQuery(text, schema="Person"), e, False))

    # Phonetic skeleton only: vowels rotated, written in Cyrillic.
    multi = [
        e
        for e in lists.entities
        if e.schema == "LegalEntity"
        and len(words := e.names[0].value.split()) >= 2
        and all(w.isalpha() and len(w) >= 5 for w in words)
    ]
    for e in pick(multi):
        rotated = " ".join(
            "".join(_CYRILLIC[ch] for ch in w.lower().translate(_ROTATE))
            for w in e.names[0].value.split()
        )
        cases.append(Case("phonetic_only", NameQuery(rotated, schema="Company"), e, False))

    # Short acronyms, and acronyms of full names.
    acronyms = [
        (e, n.value)
        for e in lists.entities
        if e.schema == "LegalEntity"
        for n in e.names
        if re.fullmatch(r"[A-Z]{2,4}", n.value)
    ]
    for e, value in pick(acronyms):
        i = rng.randrange(len(value))
        letter = rng.choice([ch for ch in "BCDFGHKLMNPRSTVXZ" if ch != value[i]])
        changed = value[:i] + letter + value[i + 1 :]
        cases.append(Case("short_acronym", NameQuery(changed, schema="Organization"), e, False))
    fillers = {"of", "the", "and", "for"}
    spelled = []
    for e in lists.entities:
        if e.schema != "LegalEntity":
            continue
        words = [w for w in _own_words(e.names[0].value) if w not in fillers]
        if 3 <= len(words) <= 5 and all(w.isalpha() and len(w) >= 3 for w in words):
            spelled.append((e, words))
    for e, words in pick(spelled):
        initials = "".join(w[0] for w in words).upper()
        cases.append(Case("acronym_full", NameQuery(initials, schema="Organization"), e, True))

    # Nicknames: a listed given name that has short forms.
    with_nick = [(p, group_of[p[2][0].lower()]) for p in two if p[2][0].lower() in group_of]
    for (e, last, given), names in pick(with_nick):
        shorts = [n for n in names if n != given[0].lower() and len(n) < len(given[0])]
        if not shorts:
            continue
        text = f"{rng.choice(shorts).capitalize()} {last.capitalize()}"
        cases.append(Case("nickname", NameQuery(text, schema="Person"), e, True))
    for (e, last, _given), names in pick(with_nick):
        own = set(names)
        other = rng.choice([g for g in groups if not own & set(g)])
        text = f"{min(other, key=len).capitalize()} {last.capitalize()}"
        cases.append(Case("nickname_other", NameQuery(text, schema="Person"), e, False))

    # Cyrillic names of organisations against their English names.
    english = _english_to_russian()
    translatable = []
    for e in lists.entities:
        if e.schema != "LegalEntity":
            continue
        words = [w for w in _own_words(e.names[0].value) if w not in fillers and w.isalpha()]
        known = [w for w in words if w.lower() in english]
        if len(words) >= 2 and len(known) >= max(2, len(words) - 1):
            translatable.append((e, words))
    for e, words in pick(translatable):
        russian_name = " ".join(english.get(w.lower()) or _to_cyrillic(w) for w in words)
        cases.append(
            Case("cyrillic_translation", NameQuery(russian_name, schema="Company"), e, True)
        )
    return cases


def _own_words(name: str) -> list[str]:
    """The words of an organisation's name without its legal form (as the matcher sees it)."""
    from sanctrace.names import normalize

    return [t.raw for t in normalize(name, schema="Company").tokens]


def _similarity(a: str, b: str) -> float:
    from rapidfuzz.distance import OSA

    return float(OSA.normalized_similarity(a, b))


def _to_cyrillic(word: str) -> str:
    return "".join(_CYRILLIC.get(ch, ch) for ch in word.lower())


_DATA = nd.ROOT / "src" / "sanctrace" / "names" / "data"


def _nickname_lines() -> list[list[str]]:
    import yaml

    raw = yaml.safe_load((_DATA / "nicknames.yml").read_text(encoding="utf-8"))
    return [[n.strip() for n in str(line).split(",") if n.strip()] for line in raw["groups"]]


def _english_to_russian() -> dict[str, str]:
    """English word -> a Russian word form, from the glossary the matcher reads."""
    import yaml

    raw = yaml.safe_load((_DATA / "ru_org_glossary.yml").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for stem, word in raw["stems"].items():
        stem = str(stem)
        ending = "ый" if stem.endswith("н") else "ий" if stem.endswith(("к", "г", "х")) else ""
        out.setdefault(str(word).lower(), stem + ending)
    return out


def evaluate(screener, cases: list[Case], threshold: float) -> dict:
    """Per class: n, correct share, false matches, missed matches, a few failures."""
    per: dict[str, Counter] = defaultdict(Counter)
    failures: dict[str, list] = defaultdict(list)
    start = time.perf_counter()
    for case in cases:
        match = screener.compare(case.query, case.entity)
        score = match.score if match is not None else 0.0
        said = score >= threshold
        stats = per[case.cls]
        stats["n"] += 1
        stats["correct"] += said == case.expected
        stats["fp"] += said and not case.expected
        stats["fn"] += case.expected and not said
        if said != case.expected and len(failures[case.cls]) < 10:
            failures[case.cls].append(
                {
                    "query": case.query.name,
                    "entity": case.entity.names[0].value,
                    "expected": case.expected,
                    "score": round(score, 4),
                    "explanation": match.explanation if match is not None else "",
                }
            )
    classes = {
        cls: {
            "n": s["n"],
            "label": "match" if next(c.expected for c in cases if c.cls == cls) else "no match",
            "accuracy": round(s["correct"] / s["n"], 4),
            "false_matches": s["fp"],
            "missed": s["fn"],
        }
        for cls, s in sorted(per.items())
    }
    n = sum(s["n"] for s in per.values())
    return {
        "n": n,
        "seconds": round(time.perf_counter() - start, 2),
        "accuracy": round(sum(s["correct"] for s in per.values()) / n, 4) if n else None,
        "classes": classes,
        "failures": dict(failures),
    }


def section_cases(screener, lists, threshold: float) -> dict:
    """The generated set, scored: the ``cases`` section of ``bench/names.py``."""
    cases = generate(lists)
    return evaluate(screener, cases, threshold)


if __name__ == "__main__":
    from sanctrace.names import DEFAULT_THRESHOLD, Screener

    loaded = nd.load_lists()
    built = Screener.from_entities(loaded.entities)
    result = section_cases(built, loaded, DEFAULT_THRESHOLD)
    for cls, row in result["classes"].items():
        print(f"{cls:22} {row['label']:9} n={row['n']:3} accuracy={row['accuracy']:.3f}")
    for cls, rows in result["failures"].items():
        for row in rows[:4]:
            print(
                f"  [{cls}] {row['query']!r} ~ {row['entity']!r} {row['score']} {row['explanation'][:120]}"
            )
    print("all", result["n"], result["accuracy"])
