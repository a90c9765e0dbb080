"""Japanese names (issue 15): kana details, readings, Korean and Central Asian names in katakana,
katakana legal forms, and Japanese companies read in Japanese, not Chinese.

Each class has cases that must match and near misses that must not; the list side is a
small in-test list, so every score here comes from the normaliser and the scorer alone.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pytest

from sanctrace.model import Entity, NameKind, NameQuery
from sanctrace.names import DEFAULT_THRESHOLD
from sanctrace.names.kana import kana_forms, korean_syllables
from sanctrace.names.legal_forms import find_legal_forms
from sanctrace.names.normalize import normalize, variants
from sanctrace.names.screener import Screener

LISTED = [
    ("aum", "Organization", "AUM SHINRIKYO"),
    ("toyo", "Company", "TOYO SHINYO JITSUGYO"),
    ("kiyota", "Person", "KIYOTA Jiro"),
    ("sato", "Person", "SATO Yuko"),
    ("ono", "Person", "ONO Taro"),
    ("kju", "Person", "KIM JONG UN"),
    ("kjn", "Person", "KIM JONG NAM"),
    ("kju2", "Person", "Kim Jong-un"),
    ("zhang", "Person", "ZHANG TIAN YILANG"),  # 張田一郎 read in Chinese
    ("harita", "Person", "HARITA Ichiro"),  # 張田一郎 read in Japanese
    ("kanji", "Person", "張田一郎"),  # a list that writes the name in kanji
    ("dongjing", "Company", "DONGJING TRADING CO., LTD."),  # 東京貿易 read in Chinese
    ("gazprom", "Company", "GAZPROM EXPORT LLC"),
    ("rostelecom", "Company", "PAO ROSTELECOM"),
    ("umarov", "Person", "UMAROV Doku Khamatovich"),
    ("kadyrov", "Person", "KADYROV Ramzan Akhmatovich"),
    ("akhmedov", "Person", "AKHMEDOV Dzhamshed"),
    ("dzhabbarov", "Person", "DZHABBAROV Dzhamshed"),
    ("dudaev", "Person", "DUDAEV Dzhokhar"),
    ("abdullaev", "Person", "ABDULLAEV Saadulla"),
    ("jabbar", "Person", "JABBAR Ali"),
]


@pytest.fixture(scope="module")
def screener() -> Screener:
    entities = []
    for eid, schema, name in LISTED:
        entity = Entity(id=eid, schema=schema, source="test", source_id=eid)
        entity.add_name(name, NameKind.PRIMARY)
        entities.append(entity)
    return Screener.from_entities(entities)


def score(screener: Screener, entity_id: str, name: str, schema: str | None = None, **kw) -> float:
    """The score of ``entity_id`` for the query (0.0 when it is not returned at all)."""
    matches = screener.screen(NameQuery(name, schema=schema, **kw), top=25, threshold=0.0)
    return max((m.score for m in matches if m.entity_id == entity_id), default=0.0)


# -- kana details ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kana", "hepburn"),
    [("トウヨウ", "toyo"), ("オオノ", "ono"), ("サトウ", "sato"), ("ユウコ", "yuko"),
     ("ジロウ", "jiro"), ("とうきょう", "tokyo"), ("ニイガタ", "niigata")],
)  # fmt: skip
def test_long_vowels_written_with_u_or_o_fold_like_the_long_mark(kana: str, hepburn: str):
    # Hepburn drops a long a, u or o (Tōyō → Toyo) as it drops ー; a long i stays ii.
    assert kana_forms(kana)[0] == hepburn
    assert kana_forms(kana)[1] != hepburn  # the spelled-out reading is still offered


@pytest.mark.parametrize(
    ("query", "entity_id"),
    [("トウヨウシンヨウジツギョウ", "toyo"), ("オウムシンリキョウ", "aum"),
     ("サトウ ユウコ", "sato"), ("オオノ タロウ", "ono")],
)  # fmt: skip
def test_readings_with_long_vowels_match(screener: Screener, query: str, entity_id: str):
    assert score(screener, entity_id, query) >= DEFAULT_THRESHOLD


def test_a_reading_without_a_space_scores_like_one_with_it(screener: Screener) -> None:
    glued = score(screener, "kiyota", "キヨタジロウ", "Person")
    spaced = score(screener, "kiyota", "キヨタ ジロウ", "Person")
    assert spaced == 1.0 and glued >= 0.9  # the whole-string comparison: one step below
    # and not merely by being long: another glued reading stays far below
    assert score(screener, "kiyota", "キタヤマジロウ", "Person") < DEFAULT_THRESHOLD


# -- Korean names in katakana ----------------------------------------------------------------


def test_korean_given_names_are_cut_into_syllables() -> None:
    assert korean_syllables("ジョンウン") == ["ジョン", "ウン"]
    assert korean_syllables("ヨンチョル") == ["ヨン", "チョル"]
    assert korean_syllables("ウラジーミル") is None  # a long mark: not Korean
    (name, split) = variants("キム・ジョンウン", "Person")
    assert split.via == "syllables" and [t.raw for t in split.tokens] == ["キム", "ジョン", "ウン"]
    assert "jong" in split.tokens[1].forms and "kim" in split.tokens[0].forms


def test_korean_names_in_katakana_match_their_romanisation(screener: Screener) -> None:
    assert score(screener, "kju", "キム・ジョンウン", "Person") == 1.0
    assert score(screener, "kju2", "キム・ジョンウン", "Person") >= DEFAULT_THRESHOLD
    assert score(screener, "kjn", "キム・ジョンナム", "Person") == 1.0
    # near misses: a brother is not the brother
    assert score(screener, "kju", "キム・ジョンナム", "Person") < DEFAULT_THRESHOLD
    assert score(screener, "kjn", "キム・ジョンウン", "Person") < DEFAULT_THRESHOLD


def test_a_japanese_name_is_not_cut_as_korean() -> None:
    assert [v.via for v in variants("サトウ・ユウコ", "Person")] == ["name"]


# -- the Japanese reading leads --------------------------------------------------------------


def test_a_kana_reading_stops_the_chinese_reading_of_the_kanji(screener: Screener) -> None:
    # Without a reading the kanji are also read in Chinese (the only reading there is) …
    assert score(screener, "zhang", "張田一郎", "Person") >= DEFAULT_THRESHOLD
    # … with one, the Japanese reading leads: the Chinese-read person is no longer met,
    with_reading = {"name_kana": "ハリタ イチロウ"}
    assert score(screener, "zhang", "張田一郎", "Person", **with_reading) < DEFAULT_THRESHOLD
    # the person the reading names is, and a list that writes the kanji still meets them.
    assert score(screener, "harita", "張田一郎", "Person", **with_reading) == 1.0
    assert score(screener, "kanji", "張田一郎", "Person", **with_reading) == 1.0


def test_a_reading_without_a_space_or_in_hiragana_also_leads(screener: Screener) -> None:
    assert score(screener, "harita", "張田一郎", "Person", name_kana="はりた いちろう") == 1.0
    assert score(screener, "zhang", "張田一郎", "Person", name_kana="ハリタイチロウ") < 0.5


def test_a_japanese_company_does_not_read_its_place_names_in_chinese(screener: Screener):
    for query in ("東京貿易株式会社", "株式会社東京貿易", "東京貿易(株)"):
        assert score(screener, "dongjing", query, "Company") < DEFAULT_THRESHOLD
        name = normalize(query, schema="Company")
        assert [f.code for f in name.legal_forms] == ["kk"]
        assert name.tokens[0].forms == ("tokyo",)  # 東京 read as Japanese reads it
        assert name.tokens[1].forms == ("貿易",)  # other kanji kept as written


def test_without_a_japanese_form_or_reading_kanji_keep_their_chinese_reading() -> None:
    # A Chinese company (有限公司) is read in Chinese, as before.
    assert normalize("东京贸易有限公司", schema="Company").tokens[0].forms[0] == "dongjingmaoyi"


# -- katakana legal forms and Central Asian and Caucasian names --------------------------------


@pytest.mark.parametrize(
    ("query", "code", "entity_id"),
    [("オーオーオー・ガスプロム・エクスポルト", "llc", "gazprom"),
     ("ガスプロム・エクスポルト・エルエルシー", "llc", "gazprom"),
     ("ペーアーオー・ロステレコム", "pjsc", "rostelecom")],
)  # fmt: skip
def test_transliterated_legal_forms_are_legal_forms(
    screener: Screener, query: str, code: str, entity_id: str
) -> None:
    assert [f.code for f in normalize(query, schema="Company").legal_forms] == [code]
    assert score(screener, entity_id, query, "Company") >= DEFAULT_THRESHOLD


def test_a_katakana_word_holding_a_form_is_not_cut() -> None:
    # アーオー only at an edge of the name: inside a word it is name content.
    assert normalize("カラアーオーム", schema="Company").legal_forms == ()


@pytest.mark.parametrize(
    ("query", "entity_id"),
    [("ドク・ウマロフ", "umarov"), ("ウマロフ・ドク・ハマトヴィチ", "umarov"),
     ("ラムザン・カディロフ", "kadyrov"), ("ジャムシェド・アフメドフ", "akhmedov"),
     ("ヂャムシェド・アフメードフ", "akhmedov"), ("ジャムシェド・ジャッバロフ", "dzhabbarov"),
     ("ヂャムシェド・ヂャッバロフ", "dzhabbarov"), ("ジョハル・ドゥダエフ", "dudaev"),
     ("サアドゥッラ・アブドゥッラーエフ", "abdullaev")],
)  # fmt: skip
def test_central_asian_and_caucasian_names_in_katakana(
    screener: Screener, query: str, entity_id: str
) -> None:
    # ジャ/ヂャ for Dzh, フ for х before a consonant, double vowels, the long-vowel mark
    assert score(screener, entity_id, query, "Person") >= DEFAULT_THRESHOLD


def test_central_asian_near_misses(screener: Screener) -> None:
    assert score(screener, "dzhabbarov", "ジャッバロフ・アリ", "Person") < DEFAULT_THRESHOLD
    assert score(screener, "akhmedov", "ジャムシェド・アフマドフ", "Person") < 1.0
    assert score(screener, "dzhabbarov", "ジャムシェド・アフメドフ", "Person") < DEFAULT_THRESHOLD


# -- real data: METI's Russia list, Japanese against English --------------------------------


def _katakana_share(name_ja: str) -> float:
    """Share of katakana among the letters of a name, asides and legal forms removed."""
    text = re.sub(r"[（(][^）)]*[）)]", "", unicodedata.normalize("NFKC", name_ja))
    letters = [ch for ch in find_legal_forms(text)[0] if ch.isalpha()]
    return sum("\u30a0" <= ch <= "\u30ff" for ch in letters) / max(1, len(letters))


def test_meti_transliterated_names_find_their_english_entry(shared_data: Path) -> None:
    """Katakana renderings of Russian organisation names against the same list's English
    names: the kana reading alone must put the right entry in the top five."""
    with open(shared_data / "matching" / "meti_russia_ja_en_pairs.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    entities = []
    for row in rows:
        entity = Entity(id=row["list_no"], schema="LegalEntity", source="meti", source_id="")
        entity.add_name(row["name_en"], NameKind.PRIMARY)
        entities.append(entity)
    screener = Screener.from_entities(entities)
    rendered = [r for r in rows if _katakana_share(r["name_ja"]) >= 0.6][::2]
    assert len(rendered) >= 60
    found = 0
    for row in rendered:
        query = NameQuery(row["name_ja"], schema="LegalEntity")
        found += any(m.entity_id == row["list_no"] for m in screener.screen(query, 5, 0.0))
    assert found / len(rendered) >= 0.95, f"{found} of {len(rendered)}"  # 139 of 144 now
