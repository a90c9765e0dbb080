"""Every parser, fed mutated slices of the real list files, fails only with ParseError."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctrace.lists.base import ParseError, ParseReport
from sanctrace.lists.registry import get_format

# (format, file under ../shared/data, name the slice is written as, bytes kept)
CASES = [
    ("ofac_csv", "lists/ofac/2019/sdn.csv", "sdn.csv", 12_000),
    ("ofac_csv", "lists/ofac/consolidated/cons_prim.csv", "cons_prim.csv", 12_000),
    ("un_xml", "lists/un/UN_consolidated_2026-02-27.xml", "un.xml", 30_000),
    ("jp_meti_text", "lists/jp/meti_russia_2025-09-12.txt", "meti.txt", 12_000),
    ("ftm_json", "entities/zala_aero_network.ftm.json", "zala.ftm.json", 20_000),
]

MUTATIONS = st.tuples(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=10),
    st.integers(0, 10**6),
)


def mutate(data: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    buf = bytearray(data)
    for pos, value in flips:
        buf[pos % len(buf)] = value
    return bytes(buf[: max(1, cut % (len(buf) + 1))])


@pytest.mark.parametrize(("fmt", "rel", "name", "keep"), CASES, ids=[c[2] for c in CASES])
def test_mutated_real_files(shared_data, tmp_path_factory, fmt, rel, name, keep):
    data = (shared_data / rel).read_bytes()[:keep]
    folder = tmp_path_factory.mktemp(fmt)
    parser = get_format(fmt)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(MUTATIONS)
    def check(mutation) -> None:
        path = Path(folder) / name
        path.write_bytes(mutate(data, *mutation))
        try:
            for _ in parser.parse([path], parser.default_source, ParseReport()):
                pass
        except ParseError as exc:
            assert str(path) in str(exc)

    check()
