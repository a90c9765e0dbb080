"""Legal forms as typed tokens, honorifics, and the Japanese organisation glossary."""

from __future__ import annotations

import csv
import re

import pytest
import yaml
from anyascii import anyascii
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from sanctrace.names.glossary import glossary_words, translate_ja
from sanctrace.names.legal_forms import (
    CLASSES,
    LegalForm,
    alias_table,
    all_legal_forms,
    compatible,
    find_legal_forms,
    legal_form,
    strip_honorifics,
)

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
ALIASES = alias_table()


def codes(text: str) -> list[str]:
    return [f.code for f in find_legal_forms(text)[1]]


# ------------------------------------------------------------------ the data


def test_forms_are_well_formed() -> None:
    forms = all_legal_forms()
    assert len({f.code for f in forms}) == len(forms) > 60
    assert {f.cls for f in forms} <= CLASSES
    assert all(f.label for f in forms)
    assert len(ALIASES) > 1000
    assert legal_form("kk").cls == "joint_stock"
    assert legal_form("llc") == LegalForm("llc", "llc", "Limited liability company")


@pytest.mark.parametrize(("alias", "form", "mode"), ALIASES, ids=[a[0] for a in ALIASES])
def test_every_alias_is_recognised_alone_and_around_a_name(
    alias: str, form: LegalForm, mode: str
) -> None:
    assert find_legal_forms(alias) == ("", [form])
    name = "未来商事" if CJK.search(alias) else "ACME TRADING"
    glue = "" if CJK.search(alias) else " "
    if mode != "suffix":
        assert find_legal_forms(f"{alias}{glue}{name}") == (name, [form])
    if mode != "prefix":
        assert find_legal_forms(f"{name}{glue}{alias}") == (name, [form])


# --------------------------------------------------------- real-world names

REAL = [
    ("OOO TAIGA", "TAIGA", ["llc"]),
    ("Taiga LLC", "Taiga", ["llc"]),
    ("Общество с ограниченной ответственностью «Тайга»", "Тайга", ["llc"]),
    ("ООО «Тайга»", "Тайга", ["llc"]),
    ('ООО "Тайга"', "Тайга", ["llc"]),
    ("TAIGA, OOO", "TAIGA", ["llc"]),
    ("株式会社未来商事", "未来商事", ["kk"]),
    ("未来商事株式会社", "未来商事", ["kk"]),
    ("カ）ミライショウジ", "ミライショウジ", ["kk"]),
    ("ミライショウジ（カ", "ミライショウジ", ["kk"]),
    ("(カ)ミライ", "ミライ", ["kk"]),
    ("ｶ)ﾐﾗｲ", "ﾐﾗｲ", ["kk"]),
    ("㈱未来", "未来", ["kk"]),
    ("Mirai Shoji Co., Ltd.", "Mirai Shoji", ["co_ltd"]),
    ("Mirai Shoji Co.,Ltd.", "Mirai Shoji", ["co_ltd"]),
    ("MIRAI SHOJI CO LTD", "MIRAI SHOJI", ["co_ltd"]),
    ("ORCHID STRAITS TRADING PTE. LTD.", "ORCHID STRAITS TRADING", ["pte_ltd"]),
    ("Admiralty Shipyard JSC", "Admiralty Shipyard", ["jsc"]),
    ("Argut OOO", "Argut", ["llc"]),
    ("有限責任会社アルグト", "アルグト", ["llc"]),
    ("有限会社クラナーク", "クラナーク", ["yk"]),
    ("公共株式会社カザンヘリコプター工場", "カザンヘリコプター工場", ["pjsc"]),
    (
        "連邦国家単一企業ドゥホフ名称オートメーション研究所",
        "ドゥホフ名称オートメーション研究所",
        ["fgup"],
    ),
    ("ロシア大統領府連邦国家予算機関", "ロシア大統領府", ["fgbu"]),
    ("深圳市某某科技有限公司", "深圳市某某科技", ["co_ltd"]),
    ("某某股份有限公司", "某某", ["jsc"]),
    ("삼성전자 주식회사", "삼성전자", ["jsc"]),
    ("(주)삼성", "삼성", ["jsc"]),
    ("GAZPROM NEFT, PJSC", "GAZPROM NEFT", ["pjsc"]),
    ("PAO Sberbank", "Sberbank", ["pjsc"]),
    ("Публичное акционерное общество «Сбербанк России»", "Сбербанк России", ["pjsc"]),
    ("ФГУП «Росморпорт»", "Росморпорт", ["fgup"]),
    ("ИП Иванов Иван Иванович", "Иванов Иван Иванович", ["ip"]),
    ("(OOO) Microelectronic Production Complex", "Microelectronic Production Complex", ["llc"]),
    ("Milandr EK OOO", "Milandr EK", ["llc"]),
    ("AO Kronshtadt", "Kronshtadt", ["jsc"]),
    ("ACME L.L.C.", "ACME", ["llc"]),
    ("ACME S A R L", "ACME", ["sarl"]),
    ("SIEMENS AG", "SIEMENS", ["ag"]),
    ("Foo GmbH & Co. KG", "Foo", ["gmbh_co_kg"]),
    ("Foo UG (haftungsbeschränkt)", "Foo", ["gmbh"]),
    ("Petróleos de Venezuela, S.A.", "Petróleos de Venezuela", ["sa"]),
    ("Türk Telekomünikasyon A.Ş.", "Türk Telekomünikasyon", ["as"]),
    ("Grupo Foo S.A. de C.V.", "Grupo Foo", ["sa_cv"]),
    ("Foo Dis Ticaret Ltd. Şti.", "Foo Dis Ticaret", ["ltd_sti"]),
    (
        "Kamensk-Uralsky Metallurgical Works J.S. Co.",
        "Kamensk-Uralsky Metallurgical Works",
        ["jsc"],
    ),
    ("Nur Trading FZE", "Nur Trading", ["fze"]),
    ("Nur Trading FZ-LLC", "Nur Trading", ["fz_llc"]),
    ("Foo Trading DMCC", "Foo Trading", ["fzco"]),
    ("TOO Kazakh Oil", "Kazakh Oil", ["too"]),
    (
        "Tactical Missile Corporation, Joint Stock Company Avangard",
        "Tactical Missile, Avangard",
        ["corp", "jsc"],
    ),
    ("PT Bank Mandiri (Persero) Tbk", "Bank Mandiri", ["pt", "state_ent", "plc"]),
    ("ЧВК «Вагнер»", "Вагнер", ["pmc"]),
]


@pytest.mark.parametrize(("text", "name", "found"), REAL, ids=[r[0] for r in REAL])
def test_real_world_names(text: str, name: str, found: list[str]) -> None:
    rest, forms = find_legal_forms(text)
    assert (rest, [f.code for f in forms]) == (name, found)


@pytest.mark.parametrize(
    "text",
    [
        "MAO ZEDONG",
        "COSTA",
        "SAMSUNG",
        "IPSWICH",
        "COSTA COFFEE",
        "ASIA PACIFIC",
        "SANTOS",
        "U.S.A. TRADING",
        "GRAND HOTEL",
        "航空機製造会社ミグ",  # 会社 glued on both sides stays
        "Общество охотников и рыболовов",
    ],
)
def test_no_false_positives_inside_words(text: str) -> None:
    assert find_legal_forms(text) == (text, [])


def test_short_forms_only_count_at_the_edges() -> None:
    assert find_legal_forms("IPSWICH TRADING LTD") == ("IPSWICH TRADING", [legal_form("ltd")])
    assert codes("ALPHA SA BETA") == []
    assert codes("ALPHA CO BETA") == []
    assert codes("ALPHA IP BETA") == []
    assert codes("ACME IP") == []  # ИП / IP is prefix-only
    assert codes("BANCO SANTANDER SA") == ["sa"]
    assert codes("SA BANCO") == ["sa"]
    # a comma, bracket or quote starts a new part of the name
    assert find_legal_forms("Tactical Missile Corporation, AO GNPP Region")[0] == (
        "Tactical Missile, GNPP Region"
    )


def test_cjk_forms_inside_a_name() -> None:
    # Decision: a CJK form of 4+ characters is recognised anywhere, even glued on
    # both sides; short ones (会社, 公司) need a boundary on at least one side.
    assert find_legal_forms("未来株式会社商事") == ("未来 商事", [legal_form("kk")])
    assert codes("株式会社統一造船会社「アストラハン造船所」") == ["kk", "co"]
    assert codes("統一エンジン製造会社") == ["co"]


def test_russian_transliteration_variants() -> None:
    for text in [
        "Obshchestvo s ogranichennoy otvetstvennostyu Taiga",
        "Obshchestvo s ogranichennoi otvetstvennost'yu Taiga",
        "Obshestvo s ogranichennoj otvetstvennostju Taiga",
        "OBSCHESTVO S OGRANICHENNOI OTVETSTVENNOSTIU TAIGA",
        "Aktsionernoye Obshchestvo Taiga",
        "Akcionernoe obshchestvo Taiga",
        "Zakritoe aktsionernoe obshchestvo Taiga",
    ]:
        rest, forms = find_legal_forms(text)
        assert rest.lower() == "taiga" and forms, text


@pytest.mark.parametrize(
    "alias",
    [
        "Общество с ограниченной ответственностью",
        "Акционерное общество",
        "Публичное акционерное общество",
        "Открытое акционерное общество",
        "Закрытое акционерное общество",
        "Федеральное государственное унитарное предприятие",
        "Индивидуальный предприниматель",
        "Автономная некоммерческая организация",
        "ООО",
        "ОАО",
        "ЗАО",
        "ПАО",
        "ФГУП",
        "АНО",
    ],
)
def test_anyascii_renderings_of_russian_forms(alias: str) -> None:
    assert find_legal_forms(f"{anyascii(alias)} Taiga")[0] == "Taiga"


def test_typos_in_long_forms() -> None:
    for text in [
        "ОБЩЕСТВО С ОГРАНИЧЕНОЙ ОТВЕТСТВЕННОСТЬЮ «РОМАШКА»",
        "ОБЩЕСТВО СОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ РОМАШКА",
        "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬ РОМАШКА",
        "ОБЩEСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ РОМАШКА",  # Latin E
    ]:
        assert find_legal_forms(text) == ("РОМАШКА", [legal_form("llc")]), text
    assert codes("ЗАКРЫТОE АКЦИОНЕРНОЕ ОБЩEСТВО ТАЙГА") == ["cjsc"]
    assert codes("Gesellschaft mit beschrenkter Haftung Foo") == ["gmbh"]


def test_returned_text_keeps_original_characters() -> None:
    assert find_legal_forms("ＡＢＣ　株式会社") == ("ＡＢＣ", [legal_form("kk")])
    assert find_legal_forms("Ｍｉｒａｉ Ｃｏ．， Ｌｔｄ．")[0] == "Ｍｉｒａｉ"


# ------------------------------------------------------------------ compatible


def test_compatible() -> None:
    llc, jsc, ltd = legal_form("llc"), legal_form("jsc"), legal_form("ltd")
    kk, yk, fgup = legal_form("kk"), legal_form("yk"), legal_form("fgup")
    assert compatible([], [llc]) is None
    assert compatible([llc], []) is None
    assert compatible([llc], [yk]) is True  # OOO vs 有限会社
    assert compatible([jsc], [kk]) is True  # AO vs 株式会社
    assert compatible([ltd], [kk]) is True  # generic "Co., Ltd." vs 株式会社
    assert compatible([ltd], [fgup]) is True
    assert compatible([fgup], [llc]) is False  # state enterprise vs LLC
    assert compatible([llc], [jsc]) is False
    assert compatible([legal_form("ip")], [ltd]) is False
    assert compatible([legal_form("foundation")], [legal_form("nko")]) is True
    assert compatible([fgup, llc], [jsc, legal_form("gup")]) is True
    assert compatible(find_legal_forms("OOO TAIGA")[1], find_legal_forms("Taiga LLC")[1])
    assert compatible(
        find_legal_forms("株式会社未来商事")[1], find_legal_forms("Mirai Shoji Co., Ltd.")[1]
    )


# ------------------------------------------------------------------ honorifics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. John Smith", "John Smith"),
        ("MR JOHN SMITH", "JOHN SMITH"),
        ("Dr. Prof. Hans Müller", "Hans Müller"),
        ("Lt. Gen. Ivan Petrov", "Ivan Petrov"),
        ("Lieutenant General Ivan Petrov", "Ivan Petrov"),
        ("Sheikh Mohammed bin Rashid", "Mohammed bin Rashid"),
        ("Haji Abdul Rahman", "Abdul Rahman"),
        ("Mullah Omar", "Omar"),
        ("Col. Muammar Gaddafi", "Muammar Gaddafi"),
        ("H.E. Ali Khamenei", "Ali Khamenei"),
        ("Господин Иванов", "Иванов"),
        ("Herr Schmidt", "Schmidt"),
        ("山田太郎様", "山田太郎"),
        ("山田 太郎 殿", "山田 太郎"),
        ("田中さん", "田中"),
        ("山田氏", "山田"),
        ("李先生", "李"),
        ("John Smith, Esq.", "John Smith"),
        ("Mr", "Mr"),  # nothing but a title: unchanged
        ("Maria Drummond", "Maria Drummond"),
        ("Miss Piggy", "Piggy"),
        ("Mistral", "Mistral"),
        ("Sirius Black", "Sirius Black"),
    ],
)
def test_strip_honorifics(text: str, expected: str) -> None:
    assert strip_honorifics(text) == expected


def test_honorifics_data_is_moderate() -> None:
    from pathlib import Path

    import sanctrace.names.legal_forms as module

    raw = yaml.safe_load((Path(module.__file__).parent / "data" / "honorifics.yml").read_text())
    assert 50 < len(raw["prefix"]) < 300 and "Sheikh" in raw["prefix"]
    assert "様" in raw["suffix"]


# ------------------------------------------------------------- properties, speed

TRICKY = st.sampled_from(
    [a for a, _, _ in ALIASES[::7]]
    + ["(", ")", "「", "」", "«", "»", ",", ".", " ", "ｶ", "ﾞ", "\u0301"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), TRICKY), max_size=8).map(" ".join))
def test_find_legal_forms_never_raises_or_grows(text: str) -> None:
    rest, forms = find_legal_forms(text)
    assert isinstance(rest, str) and len(rest) <= len(text)
    assert all(isinstance(f, LegalForm) for f in forms)
    assert len(strip_honorifics(text)) <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_arbitrary_unicode(text: str) -> None:
    rest, _ = find_legal_forms(text)
    assert len(rest) <= len(text)
    translate_ja(text)


# ----------------------------------------------------------------- glossary


def test_glossary_examples() -> None:
    assert "ministry of defence communications center" in translate_ja("国防省通信センター")
    assert translate_ja("連邦保安庁")[0] == "federal security service"
    assert translate_ja("対外諜報庁")[0] == "foreign intelligence service"
    first = translate_ja("ロシア大統領府連邦国家予算機関")[0]
    assert {"federal", "state", "budgetary", "president"} <= set(first.split())
    assert translate_ja("アレクサンドロフ名称科学技術研究所")[0].startswith("アレクサンドロフ ")
    assert translate_ja("第48中央科学研究所")[0] == "48th central scientific research institute"
    assert translate_ja("カザンヘリコプター工場")[0] == "カザン helicopters plant"
    assert translate_ja("") == [""]
    assert all(len(translate_ja(w)) <= 3 for w in glossary_words())


def _main_name(ja: str) -> str:
    """The name before its aliases: no bracketed parts, nothing after an address."""
    previous = None
    while previous != ja:
        previous, ja = ja, re.sub(r"[（(][^（）()]*[）)]", " ", ja)
    return re.split(r"[（(]|所在地", ja)[0].strip()


def _mostly_kanji(text: str) -> bool:
    kanji = len(re.findall(r"[\u4e00-\u9fff々]", text))
    kana = len(re.findall(r"[\u30a0-\u30ff]", text))
    return kanji + kana > 0 and kanji >= 0.6 * (kanji + kana)


@pytest.mark.shared_data
def test_glossary_on_meti_translated_names(shared_data) -> None:
    path = shared_data / "matching" / "meti_russia_ja_en_pairs.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 559
    scored = []
    for row in rows:
        ja = _main_name(row["name_ja"])
        if not _mostly_kanji(find_legal_forms(ja)[0]):
            continue  # transliterated (katakana) names are the transliterator's job
        en = row["name_en"].lower()
        scored.append(max(fuzz.token_set_ratio(t, en) for t in translate_ja(ja)))
    share = sum(s >= 70 for s in scored) / len(scored)
    print(f"METI mostly-kanji names: {len(scored)}; token_set_ratio >= 70: {share:.1%}")
    assert len(scored) > 100
    assert share >= 0.85


@pytest.mark.shared_data
def test_coverage_of_reference_org_types(shared_data) -> None:
    """How many aliases of the OpenSanctions org-type list (CC BY-NC, test use only) we parse."""
    path = shared_data / "matching" / "org_types_reference.yml"
    reference = yaml.safe_load(path.read_text(encoding="utf-8"))
    aliases = [str(a) for t in reference["types"] for a in t["aliases"]]
    whole = some = 0
    for alias in aliases:
        rest, forms = find_legal_forms(alias)
        some += bool(forms)
        whole += bool(forms) and not rest
    print(
        f"reference aliases: {len(aliases)}; fully recognised {whole / len(aliases):.1%}, "
        f"partly {some / len(aliases):.1%}"
    )
    assert whole / len(aliases) >= 0.55
