"""Japanese lists: METI end-user lists (PDF text) and the MOF sanctions workbook (XLSX)."""

from __future__ import annotations

import csv
import functools
import importlib.util
import re
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctrace.lists.base import ParseError, ParseReport, read_head
from sanctrace.lists.jp_common import has_japanese, parse_jp_date, parse_jp_dates
from sanctrace.lists.jp_meti_text import FORMAT as METI
from sanctrace.lists.jp_meti_text import read_header, read_lines, read_records, suggest_source
from sanctrace.lists.jp_mof_xlsx import FORMAT as MOF
from sanctrace.lists.jp_mof_xlsx import column_key, find_crypto
from sanctrace.model import NameKind

JP = Path(__file__).resolve().parent / "fixtures" / "lists" / "jp"
METI_SAMPLE = JP / "meti_sample.txt"
ADDRESS = re.compile(r"所\s*在\s*地\s*[：:]")


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_mof_fixture", JP / "make_mof_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _load_generator()


def parse(fmt, path: Path, source: str = "src") -> tuple[list, ParseReport]:
    report = ParseReport()
    return list(fmt.parse([path], source, report)), report


def names(entity, kind=NameKind.PRIMARY, lang=None) -> list[str]:
    return [n.value for n in entity.names if n.kind == kind and (lang is None or n.lang == lang)]


# --- shared helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和4年3月8日", ["2022-03-08"]),
        ("令和元年5月1日", ["2019-05-01"]),
        ("平成26年8月5日", ["2014-08-05"]),
        ("昭和33年10月7日", ["1958-10-07"]),
        ("R4.3.8", ["2022-03-08"]),
        ("H26.8.5", ["2014-08-05"]),
        ("２０２２年３月８日", ["2022-03-08"]),
        ("2025 年09 月12 日", ["2025-09-12"]),
        ("1952年", ["1952"]),
        ("1952年10月", ["1952-10"]),
        ("1952年10月7日又は1953年", ["1952-10-07", "1953"]),
        ("1960年代", []),
        ("不明", []),
        ("令和4年13月40日", []),
        (datetime(2022, 3, 8, 0, 0), ["2022-03-08"]),
        (1952, ["1952"]),
        (None, []),
    ],
)
def test_parse_jp_dates(text, expected):
    assert parse_jp_dates(text) == expected


# --- METI: hand-made sample ---------------------------------------------------------------


def test_meti_sample_entries():
    entities, report = parse(METI, METI_SAMPLE, "jp_meti_ru")
    assert report.version == "2025-09-12"
    assert [e.source_id for e in entities] == [f"ru-{i:04d}" for i in range(1, 7)]
    assert all(e.schema == "LegalEntity" and e.id == f"jp_meti_ru:{e.source_id}" for e in entities)
    by_id = {e.source_id: e for e in entities}
    second = by_id["ru-0002"]
    assert names(second, lang="jpn") == ["架空研究所"]
    assert names(second, lang="eng") == ["Fictional Research Institute"]
    assert set(names(second, NameKind.ALIAS)) == {
        "Fictional Research Center",
        "FRC",
        "架空センター",
    }
    assert second.get("address") == [
        "Fictional Street 2, Moscow 101000, Russia",
        "Fictional Street 3, Moscow 101001, Russia.",
    ]
    # entry 3 starts on the last address line of entry 2, and its Japanese name wraps
    third = by_id["ru-0003"]
    assert names(third, lang="jpn") == ["有限会社架空トレーディング"]
    assert "架空トレード・インターナショナル" in names(third, NameKind.ALIAS)
    assert third.get("country") == ["by"]
    fourth = by_id["ru-0004"]  # 別称： lines and a Chinese name in brackets
    assert names(fourth, lang="eng") == ["Fictional Electronics Limited"]
    assert set(names(fourth, NameKind.ALIAS)) >= {
        "架空エレ",
        "架空エレクトロニクス",
        "Fictional Elec Ltd",
        "Fict Electronics",
        "架空电子有限公司",
    }
    fifth = by_id["ru-0005"]  # Japanese, English and address glued on one line
    assert names(fifth, lang="jpn") == ["架空機械製作所"]
    assert names(fifth, lang="eng") == ["Fictional Machine Building Works"]
    assert fifth.get("address") == ["6 Fictional Lane, Kazan, Russia."]
    sixth = by_id["ru-0006"]  # glued alias items, a word broken at its hyphen, "所 在 地"
    assert set(names(sixth, NameKind.ALIAS, "eng")) == {
        "Fictional Repair",
        "FARP",
        "Fictional Solid-State Repair Plant",
    }
    assert sixth.get("address") == ["7 Fictional Square, Novograd, Russia, 123456."]
    assert report.warnings == []


def test_meti_sniff():
    assert METI.sniff(METI_SAMPLE, read_head(METI_SAMPLE))
    assert not METI.sniff(Path("x.txt"), b"name,address\nfoo,bar\n")
    assert not METI.sniff(Path("x.txt"), b"\x00\xff" * 100)


def test_meti_suggest_source(tmp_path):
    assert suggest_source(Path("meti_belarus_2025-07.txt")) == "jp_meti_by"
    assert suggest_source(Path("meti_third_countries.txt")) == "jp_meti_third"
    assert suggest_source(Path("meti_russia.txt")) == "jp_meti_ru"
    unnamed = tmp_path / "list.txt"
    text = METI_SAMPLE.read_text(encoding="utf-8")
    unnamed.write_text(text.replace("ロシア連邦の団体", "ベラルーシ共和国の団体"), encoding="utf-8")
    assert suggest_source(unnamed) == "jp_meti_by"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[: t.index("Fictional Aircraft Repair")], id="cut-after-ja-name"),
        pytest.param(lambda t: t[: t.index("所 在 地")], id="cut-before-address"),
        pytest.param(lambda t: t.split("１ ")[0], id="header-only"),
        pytest.param(lambda t: "\n".join(t.splitlines()[4:]), id="no-header"),
        pytest.param(lambda t: t.replace("２ 架空研究所", "X 架空研究所"), id="lost-number"),
        pytest.param(lambda t: "", id="empty"),
    ],
)
def test_meti_damaged_text_raises(tmp_path, mangle):
    path = tmp_path / "meti.txt"
    path.write_text(mangle(METI_SAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ParseError) as info:
        parse(METI, path)
    assert str(path) in str(info.value)


def test_meti_random_bytes_raise(tmp_path):
    path = tmp_path / "meti.txt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ParseError, match=re.escape(str(path))):
        parse(METI, path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=0, max_value=2000),
    start=st.integers(min_value=0, max_value=2000),
    length=st.integers(min_value=0, max_value=200),
    junk=st.text(max_size=40),
)
def test_meti_mutations_parse_or_raise_parse_error(cut, start, length, junk):
    text = METI_SAMPLE.read_text(encoding="utf-8")
    mutated = text[:start] + junk + text[start + length :]
    mutated = mutated[: len(mutated) - cut] if cut < len(mutated) else mutated
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "meti.txt"
        path.write_text(mutated, encoding="utf-8", errors="surrogatepass")
        try:
            entities, _ = parse(METI, path)
        except ParseError as exc:
            assert str(path) in str(exc)
        else:
            for entity in entities:
                assert entity.names
                assert re.fullmatch(r"(ru|by|third|meti)-\d{4}", entity.source_id)


# --- METI: the real lists ------------------------------------------------------------------


def _meti(shared_data: Path, name: str) -> Path:
    path = shared_data / "lists" / "jp" / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


def _check_real_list(path: Path, source: str, kind: str, version: str) -> list:
    entities, report = parse(METI, path, source)
    text = path.read_text(encoding="utf-8")
    expected = len(ADDRESS.findall(text))  # every entry has exactly one 所在地 label
    assert len(entities) == expected
    numbers = [int(e.source_id.split("-")[1]) for e in entities]
    assert numbers == list(range(1, expected + 1))
    last_number = [m for m in re.findall(r"(?m)^(\d+) \S", text)][-1]
    assert int(last_number) == expected
    assert {e.source_id.split("-")[0] for e in entities} == {kind}
    assert report.version == version
    assert suggest_source(path) == source
    lines = read_lines(path)
    records = list(read_records(path, lines, read_header(path, lines)[1]))
    assert len(records) == expected
    assert all(r.name_ja and r.english and r.has_address for r in records)
    for entity in entities:
        ja, en = names(entity, lang="jpn"), names(entity, lang="eng")
        assert len(ja) == 1 and len(en) <= 1, entity.source_id
        # the same text in both (ru-0074 "MPI VOLNA") is kept once, as the Japanese name
        assert en or ja[0].isascii(), entity.source_id
        assert not en or not has_japanese(en[0]), entity.source_id
        assert entity.get("address"), entity.source_id
    # a Japanese name may be all Latin letters (ru-0074 "MPI VOLNA"), but hardly ever
    latin_only = [e.source_id for e in entities if not has_japanese(names(e, lang="jpn")[0])]
    assert len(latin_only) <= 1, latin_only
    return entities


@pytest.mark.shared_data
def test_meti_russia_list(shared_data):
    path = _meti(shared_data, "meti_russia_2025-09-12.txt")
    entities = _check_real_list(path, "jp_meti_ru", "ru", "2025-09-12")
    assert len(entities) == 561
    by_id = {e.source_id: e for e in entities}
    fsb = by_id["ru-0006"]
    assert names(fsb, lang="jpn") == ["連邦保安庁"]
    assert names(fsb, lang="eng") == ["Federal Security Service (FSB)"]
    assert names(fsb, NameKind.ALIAS) == ["Federalnaya Sluzhba Bezopasnosti"]
    svr = by_id["ru-0010"]  # glued onto the address line of entry 9
    assert names(svr, lang="jpn") == ["対外諜報庁"]
    assert by_id["ru-0009"].get("address") == ["22, Sushchevskaya UI, Moscow 127055RU."]
    assert names(by_id["ru-0018"], lang="eng") == ["JSC Rocket and Space Centre – Progress"]
    countries = [c for e in entities for c in e.get("country")]
    assert countries.count("ru") >= 550


@pytest.mark.shared_data
def test_meti_russia_matches_reference_pairs(shared_data):
    """Cross-check (list_no, name_ja) against 559 reference pairs taken from the same list.

    The reference file has its own extraction defects: for some rows it glued the English
    name (even the address) onto name_ja, for others it dropped a wrapped line that starts
    with Latin letters, and it joins wrapped Latin words without a space. Exact agreement
    is 536/559 (95.9%); every disagreement must be one of those defects.
    """
    path = _meti(shared_data, "meti_russia_2025-09-12.txt")
    pairs_path = shared_data / "matching" / "meti_russia_ja_en_pairs.csv"
    with open(pairs_path, encoding="utf-8") as fh:
        pairs = [(int(r["list_no"]), r["name_ja"]) for r in csv.DictReader(fh)]
    assert len(pairs) == 559
    lines = read_lines(path)
    header, start = read_header(path, lines)
    parsed = {r.number: r.name_ja for r in read_records(path, lines, start)}
    exact, unexplained = 0, []
    for number, name_ja in pairs:
        got = parsed[number]
        if got == name_ja:
            exact += 1
        elif name_ja.startswith(got) and re.match(r"[A-Za-z]", name_ja[len(got) :].lstrip()):
            pass  # reference glued the English name onto the Japanese one
        elif got.startswith(name_ja) and re.match(r"[A-Za-z]", got[len(name_ja) :].lstrip()):
            pass  # reference dropped a wrapped line that starts with Latin letters
        elif got.replace(" ", "") == name_ja.replace(" ", ""):
            pass  # reference joined wrapped Latin words without a space
        else:
            unexplained.append((number, name_ja, got))
    rate = exact / len(pairs)
    assert rate >= 0.95, f"exact name_ja agreement {exact}/{len(pairs)} = {rate:.1%}"
    assert unexplained == []
    entities, _ = parse(METI, path, "jp_meti_ru")
    for entity in entities:
        number = int(entity.source_id.split("-")[1])
        assert parsed[number].startswith(names(entity, lang="jpn")[0][:4])


@pytest.mark.shared_data
def test_meti_belarus_list(shared_data):
    path = _meti(shared_data, "meti_belarus_2025-07.txt")
    entities = _check_real_list(path, "jp_meti_by", "by", "2022-07-05")
    assert len(entities) == 27
    assert all(e.get("country") == ["by"] for e in entities)
    integral = entities[1]
    assert names(integral, lang="eng") == ["JSC Integral"]
    assert set(names(integral, NameKind.ALIAS)) >= {"OAO Integral", "OAOインテグラル"}


@pytest.mark.shared_data
def test_meti_third_country_list(shared_data):
    path = _meti(shared_data, "meti_third_countries_2025-09-12.txt")
    entities = _check_real_list(path, "jp_meti_third", "third", "2025-09-12")
    assert len(entities) == 56
    by_id = {e.source_id: e for e in entities}
    qisu = by_id["third-0053"]  # Japanese and English names glued on one line
    assert names(qisu, lang="jpn") == [
        "ホンコン・チースー・エレクトロニック・テクノロジー・カンパニー・リミテッド"
    ]
    assert names(qisu, lang="eng") == ["Hong Kong Qisu Electronic Technology Co Ltd"]
    assert names(qisu, NameKind.ALIAS, "zho") == [
        "香港旗速電子有限公司",
        "香港旗速電子科技有限公司",
    ]
    assert by_id["third-0001"].get("country") == ["am"]
    assert "Trade Mid Middle East" in names(by_id["third-0002"], NameKind.ALIAS)


# --- MOF workbook ----------------------------------------------------------------------------


@pytest.fixture
def mof_sample(tmp_path) -> Path:
    return GEN.write_mof_sample(tmp_path / "mof_sample.xlsx")


def test_mof_headers_are_matched_loosely():
    assert column_key("日本語 表記") == "name_ja"
    assert column_key("英語\n表記") == "name_en"
    assert column_key("出生場所") == "birth_place"
    assert column_key("パスポート番号") == "passport"
    assert column_key("旅券番号") == "passport"
    assert column_key("ＮＯ．") == "number"
    assert column_key("番号") == "number"
    assert column_key("告 示 日 付") == "notice"
    assert column_key("所在地") == "address"
    assert column_key("肩書") == "position"


def test_mof_sample_entities(mof_sample):
    entities, report = parse(MOF, mof_sample, "jp_mof_sanctions")
    by_id = {e.source_id: e for e in entities}
    assert sorted(by_id) == ["1-1", "1-2", "1-3", "1-4", "2-1", "2-2", "3-r3", "3-r4"]
    assert report.version == "2025-09-12"  # 令和7年9月12日現在 in the title rows
    assert [by_id[i].schema for i in sorted(by_id)] == ["Person"] * 5 + ["LegalEntity"] * 3

    ivan = by_id["1-1"]
    assert ivan.id == "jp_mof_sanctions:1-1"
    assert names(ivan, lang="jpn") == ["イワン・ペトロヴィチ・ソコロフスキー"]
    assert names(ivan, lang="eng") == ["Ivan Petrovich SOKOLOVSKY"]
    assert names(ivan, NameKind.ALIAS) == ["イワン・ソコロフスキー", "Ivan SOKOLOVSKIY"]
    assert ivan.get("createdAt") == ["2022-03-08"]
    assert ivan.get("birthDate") == ["1965-04-12"]
    assert ivan.get("nationality") == ["ru"]
    assert ivan.get("passportNumber") == ["712345678"]
    assert ivan.get("address") == []  # 不明
    assert ivan.get("program") == ["ロシア（個人）"]

    marina = by_id["1-2"]
    assert marina.get("createdAt") == ["2023-05-26"]  # R5.5.26
    assert marina.get("birthDate") == ["1970-01-05", "1971"]
    assert names(marina, NameKind.FORMER) == ["マリーナ・ペトロワ"]
    assert "Marina VOLKOVA" in names(marina, NameKind.ALIAS)
    assert marina.get("birthPlace") == [] and marina.get("passportNumber") == []
    assert [(c.asset, c.address) for c in marina.crypto] == [("XBT", GEN.BTC_ADDRESS)]

    assert by_id["1-3"].get("createdAt") == ["2022-04-12"]  # an Excel date cell
    assert by_id["1-3"].get("birthDate") == ["1958-10-07"]  # 昭和33年
    assert by_id["1-3"].get("nationality") == ["ru", "by"]
    olga = by_id["1-4"]  # every optional cell 不明
    assert olga.get("createdAt") == ["2019-05-01"]  # 令和元年
    assert set(olga.properties) == {"createdAt", "program"}
    assert names(olga, NameKind.ALIAS) == []

    kim = by_id["2-1"]
    assert kim.get("createdAt") == ["2014-08-05"]  # 平成26年
    assert kim.get("birthDate") == ["1960"] and kim.get("birthPlace") == ["平壌"]
    assert kim.get("nationality") == ["kp"] and kim.get("position") == ["架空総局長"]
    assert names(kim, NameKind.ALIAS) == ["KIM Yong-chol", "金英哲"]
    company = by_id["2-2"]  # under a （団体） sub-heading
    assert company.schema == "LegalEntity"
    assert names(company, NameKind.ALIAS) == ["架空貿易", "KFTC"]
    assert [(c.asset, c.raw) for c in company.crypto] == [
        ("ETH", GEN.ETH_ADDRESS),
        ("XBT", GEN.BTC_ADDRESS),
    ]
    works = by_id["3-r3"]
    assert names(works, lang="jpn") == ["株式会社架空航空機製作所"]
    assert names(works, NameKind.ALIAS) == ["架空航空", "FAW JSC"]
    assert works.get("createdAt") == ["2022-03-08"]
    assert by_id["3-r4"].get("createdAt") == ["2022-05-10"]  # R4.5.10
    assert report.warnings == []


def test_mof_crypto_addresses_are_valid(mof_sample):
    addresses = pytest.importorskip("sanctrace.chain.addresses")
    if not hasattr(addresses, "parse_address"):
        pytest.skip("sanctrace.chain.addresses.parse_address not available yet")
    entities, _ = parse(MOF, mof_sample)
    wallets = [c for e in entities for c in e.crypto]
    assert len(wallets) == 3
    assert all(c.valid for c in wallets), wallets


def test_find_crypto():
    text = "暗号資産アドレス：XBT 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa、電話：03-1234"
    assert find_crypto(text) == [("XBT", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")]
    assert find_crypto("Digital Currency Address - ETH 0x" + "ab" * 20) == [
        ("ETH", "0x" + "ab" * 20)
    ]
    assert find_crypto("旅券番号 AB1234567") == []


def test_mof_version_falls_back_to_latest_notice(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "イラン"
    ws.append(["資産凍結等の対象者"])
    ws.append(["告示日付", "日本語表記", "英語表記"])
    ws.append(["平成22年9月3日", "架空核技術公社", "Fictional Nuclear Corporation"])
    ws.append(["令和2年1月10日", "架空海運", "Fictional Shipping"])
    ws.append(["不明", "架空商会", "Fictional Trading House"])
    path = tmp_path / "mof.xlsx"
    wb.save(path)
    entities, report = parse(MOF, path)
    assert report.version == "2020-01-10"
    assert [e.get("createdAt") for e in entities] == [["2010-09-03"], ["2020-01-10"], []]
    assert [e.source_id for e in entities] == ["1-r3", "1-r4", "1-r5"]


def test_mof_sniff(mof_sample, tmp_path):
    assert MOF.sniff(mof_sample, read_head(mof_sample))
    assert not MOF.sniff(METI_SAMPLE, read_head(METI_SAMPLE))
    assert not METI.sniff(mof_sample, read_head(mof_sample))
    from openpyxl import Workbook

    other = tmp_path / "other.xlsx"
    wb = Workbook()
    wb.active.append(["name", "address"])
    wb.save(other)
    assert not MOF.sniff(other, read_head(other))
    renamed = tmp_path / "mof.zip"
    renamed.write_bytes(mof_sample.read_bytes())
    assert not MOF.sniff(renamed, read_head(renamed))


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.1])
def test_mof_truncated_workbook_raises(mof_sample, tmp_path, keep):
    data = mof_sample.read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ParseError, match=re.escape(str(path))):
        parse(MOF, path)


def test_mof_garbage_and_headerless_workbooks_raise(tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(ParseError, match=re.escape(str(junk))):
        parse(MOF, junk)
    from openpyxl import Workbook

    plain = tmp_path / "plain.xlsx"
    wb = Workbook()
    wb.active.append(["name", "address"])
    wb.save(plain)
    with pytest.raises(ParseError, match="告示日付"):
        parse(MOF, plain)


@functools.lru_cache(maxsize=1)
def mof_bytes() -> bytes:
    """The workbook written once: openpyxl stamps the time, and Hypothesis needs fixed input."""
    with tempfile.TemporaryDirectory() as tmp:
        return GEN.write_mof_sample(Path(tmp) / "mof.xlsx").read_bytes()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mof_corrupted_bytes_parse_or_raise_parse_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mof.xlsx"
        raw = bytearray(mof_bytes())
        for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
            index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
            raw[index] = data.draw(st.integers(min_value=0, max_value=255))
        path.write_bytes(bytes(raw))
        try:
            parse(MOF, path)
        except ParseError as exc:
            assert str(path) in str(exc)


def test_jp_date_single():
    assert parse_jp_date("令和7年9月12日現在") == "2025-09-12"
    assert parse_jp_date("不明") is None
