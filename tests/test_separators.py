"""Invisible, control, format, connector and odd space characters never hide a listed name.

Issue 16, item 2: between name parts such a character is a separator (Vladimir<ZWSP>Putin),
inside a word it is noise (Pu<ZWSP>tin); either way the listed name is still found. A
Hypothesis property inserts them anywhere into listed names in Latin, Cyrillic and kana.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctrace.lists.base import ParseReport
from sanctrace.lists.registry import get_format
from sanctrace.model import Entity, NameKind, NameQuery
from sanctrace.names import DEFAULT_THRESHOLD
from sanctrace.names.normalize import variants
from sanctrace.names.screener import Screener

LISTED = [
    ("p-putin", "Person", "Vladimir Vladimirovich PUTIN"),
    ("p-putin-ru", "Person", "Владимир Владимирович Путин"),
    ("p-putin-ja", "Person", "ウラジーミル・プーチン"),
    ("p-kim", "Person", "KIM Jong Un"),
    ("p-shoigu", "Person", "Сергей Кужугетович Шойгу"),
    ("p-kadyrov-ja", "Person", "ラムザン・カディロフ"),
    ("c-garantex", "Company", "GARANTEX EUROPE OU"),
    ("c-rostec", "Company", "Государственная корпорация Ростех"),
    ("c-aum", "Organization", "オウム真理教"),
]
# One or more of every kind the issue names: zero-width and other format characters (Cf),
# controls (Cc), connector punctuation (Pc), odd spaces (Zs, Zl, Zp) and invisible fillers.
SEPARATORS = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u200e",  # left-to-right mark
    "\u202e",  # right-to-left override
    "\u180e",  # Mongolian vowel separator
    "\x00",
    "\t",
    "\x1f",
    "\x7f",
    "\x85",
    "_",
    "\u203f",  # undertie (Pc)
    "\uff3f",  # full-width low line
    "\u00a0",  # no-break space
    "\u2003",  # em space
    "\u3000",  # ideographic space
    "\u2028",  # line separator
    "\u3164",  # Hangul filler
    "\u2800",  # braille blank
]


@pytest.fixture(scope="module")
def screener() -> Screener:
    entities = []
    for eid, schema, name in LISTED:
        entity = Entity(id=eid, schema=schema, source="test", source_id=eid)
        entity.add_name(name, NameKind.PRIMARY)
        entities.append(entity)
    # Other names, so that the rarity weights and the candidate index have something to do.
    for i, name in enumerate(
        ["Vladimir Ivanov", "Sergei Putilin", "Kim Jong Nam", "Ramzan Kadyrin", "Ростелеком"]
    ):
        entity = Entity(id=f"other-{i}", schema="Person", source="test", source_id=str(i))
        entity.add_name(name, NameKind.PRIMARY)
        entities.append(entity)
    return Screener.from_entities(entities)


def found(screener: Screener, name: str, entity_id: str, schema: str) -> float:
    """The score of ``entity_id`` for ``name`` (0.0 when it is not among the matches)."""
    matches = screener.screen(NameQuery(name, schema=schema), top=10)
    return max((m.score for m in matches if m.entity_id == entity_id), default=0.0)


def test_every_separator_is_one_of_the_kinds_the_issue_names() -> None:
    odd = {"\u3164", "\u2800"}  # letters and symbols that render as nothing
    for ch in SEPARATORS:
        assert ch in odd or unicodedata.category(ch) in {"Cc", "Cf", "Pc", "Zs", "Zl", "Zp"}


@pytest.mark.parametrize(
    ("query", "entity_id", "schema"),
    [
        ("Vladimir\u200bPutin", "p-putin", "Person"),
        ("Vladimir\x00Putin", "p-putin", "Person"),
        ("Vladimir_Putin", "p-putin", "Person"),
        ("Vladimir\u3000Putin", "p-putin", "Person"),
        ("ウラジーミル\u200bプーチン", "p-putin-ja", "Person"),
        ("Владимир\u2060Путин", "p-putin-ru", "Person"),
        ("GARANTEX\ufeffEUROPE", "c-garantex", "Company"),
    ],
)
def test_the_issue_examples_match(screener: Screener, query: str, entity_id: str, schema: str):
    assert found(screener, query, entity_id, schema) >= DEFAULT_THRESHOLD


def test_the_split_reading_is_explained(screener: Screener) -> None:
    matches = screener.screen(NameQuery("Vladimir\u200bPutin", schema="Person"), top=10)
    match = next(m for m in matches if m.entity_id == "p-putin")
    assert match.explanation.startswith("via the split name 'vladimir putin'")


def test_inside_a_word_the_character_is_dropped() -> None:
    forms = variants("Pu\u200btin Vla\u00addimir", "Person")
    assert [t.raw for t in forms[0].tokens] == ["putin", "vladimir"]
    assert forms[0].via == "name" and forms[1].via == "split name"


def test_a_name_without_such_characters_has_one_form() -> None:
    assert [v.via for v in variants("Vladimir Putin", "Person")] == ["name"]
    assert [v.via for v in variants("ウラジーミル・プーチン", "Person")] == ["name"]


def test_near_misses_stay_apart(screener: Screener) -> None:
    # A separator does not make another name match: Vladimir Ivanov is not Putin.
    assert found(screener, "Vladimir\u200bIvanov", "p-putin", "Person") < DEFAULT_THRESHOLD
    assert found(screener, "Kim\u200bJong\u200bNam", "p-kim", "Person") < DEFAULT_THRESHOLD


@st.composite
def _tampered(draw: st.DrawFn) -> tuple[str, str, str]:
    eid, schema, name = draw(st.sampled_from(LISTED))
    chars = list(name)
    for _ in range(draw(st.integers(1, 3))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(SEPARATORS)))
    return "".join(chars), eid, schema


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tampered())
def test_inserting_separators_anywhere_never_loses_the_match(
    screener: Screener, case: tuple[str, str, str]
) -> None:
    query, entity_id, schema = case
    assert found(screener, query, entity_id, schema) >= DEFAULT_THRESHOLD, ascii(query)


def test_listed_un_names_with_separators_between_their_parts(shared_data: Path) -> None:
    """Every UN-listed person and entity (a seeded sample), each space of its name replaced by
    a different invisible or odd character, is still found, and first."""
    report = ParseReport()
    path = shared_data / "lists" / "un" / "UN_consolidated_2026-02-27.xml"
    entities = list(get_format("un_xml").parse([path], "un_sc_sanctions", report))
    screener = Screener.from_entities(entities)
    rng = random.Random(15)
    sample = rng.sample([e for e in entities if " " in e.caption], 120)
    lost = []
    for entity in sample:
        parts = entity.caption.split(" ")
        tampered = parts[0] + "".join(rng.choice(SEPARATORS) + p for p in parts[1:])
        query = NameQuery(tampered, schema=entity.schema)
        best = screener.screen(query, top=3, threshold=0.0)
        if not best or best[0].score < 0.99 or entity.id not in {m.entity_id for m in best}:
            lost.append(ascii(tampered))
    assert lost == []
