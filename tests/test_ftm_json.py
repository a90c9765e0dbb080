"""FtM JSON lines: ids, relations, wallets attached to their holders; bad lines named."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctrace.lists.base import ParseError, ParseReport
from sanctrace.lists.ftm_json import FORMAT
from sanctrace.lists.ofac_csv import FORMAT as OFAC_CSV
from sanctrace.model import NameKind


@pytest.fixture
def sample(fixtures):
    return fixtures / "lists" / "ftm" / "sample.ftm.json"


def test_ids_names_relations_and_wallets(sample):
    entities = {e.id: e for e in FORMAT.parse([sample], "mine", ParseReport())}
    assert set(entities) == {
        "ex-person-1",
        "ex-company-1",
        "ex-company-2",
        "ex-own-1",
        "ex-own-2",
        "ex-wallet-1",
    }
    person = entities["ex-person-1"]
    assert {(n.value, n.kind, n.script) for n in person.names} == {
        ("Arkady Pavlovich Kornevsky", NameKind.PRIMARY, "Latin"),
        ("Аркадий Корневский", NameKind.ALIAS, "Cyrillic"),
    }
    assert [(c.chain, c.valid) for c in person.crypto] == [("btc", True)]
    assert entities["ex-company-2"].names[1].kind == NameKind.FORMER
    own = entities["ex-own-1"]
    assert own.get("owner") == ["ex-person-1"] and own.get("percentage") == ["60"]
    assert FORMAT.suggest_source([sample]) == "sample"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: bad JSON"),
        ('{"schema": "Person", "properties": {}}', "line 2: field 'id' is missing"),
        ('["a list"]', "line 2: expected a JSON object"),
        ('{"id": "ex-person-1", "schema": "Person", "properties": {}}', "line 2: duplicate"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, sample, line, message):
    path = tmp_path / "bad.ftm.json"
    path.write_text(sample.read_text().splitlines()[0] + "\n" + line + "\n")
    with pytest.raises(ParseError, match=message):
        list(FORMAT.parse([path], "mine", ParseReport()))


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    buf = bytearray(data)
    for pos, value in flips:
        buf[pos % len(buf)] = value
    return bytes(buf[: max(1, cut % (len(buf) + 1))])


MUTATIONS = st.tuples(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
    st.integers(0, 10**6),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(MUTATIONS)
def test_mutated_ftm_fails_only_with_parse_error(tmp_path, sample, mutation):
    path = tmp_path / "m.ftm.json"
    path.write_bytes(_mutate(sample.read_bytes(), *mutation))
    try:
        list(FORMAT.parse([path], "mine", ParseReport()))
    except ParseError:
        pass


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(MUTATIONS)
def test_mutated_ofac_csv_fails_only_with_parse_error(tmp_path, fixtures, mutation):
    folder = fixtures / "lists" / "ofac_csv"
    target = tmp_path / "sdn.csv"
    target.write_bytes(_mutate((folder / "sdn.csv").read_bytes(), *mutation))
    paths = [target, folder / "alt.csv", folder / "add.csv", folder / "sdn_comments.csv"]
    try:
        list(OFAC_CSV.parse(paths, "us_ofac_sdn", ParseReport()))
    except ParseError:
        pass
