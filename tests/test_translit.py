"""Transliteration layer: token forms in every script, whole-name forms, tokeniser, skeleton."""

from __future__ import annotations

import csv
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from sanctrace.model import char_script
from sanctrace.names import translit
from sanctrace.names.translit import han_syllables, latin_forms, skeleton, split_tokens, token_forms

ASCII_FORM = re.compile(r"^[a-z0-9]+$")


def forms_of(token: str) -> list[str]:
    forms = token_forms(token)
    assert forms == list(dict.fromkeys(forms)), "forms are de-duplicated"
    assert 0 < len(forms) <= translit.MAX_FORMS
    assert all(ASCII_FORM.match(f) for f in forms), forms
    return forms


def skeleton_hit(token: str, latin: str) -> bool:
    return skeleton(latin) in {skeleton(f) for f in token_forms(token)}


# --- Latin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("Putin", "putin"),
        ("Vladímír", "vladimir"),
        ("Straße", "strasse"),
        ("Ærø", "aero"),
        ("Œuvre", "oeuvre"),
        ("Søren", "soren"),
        ("Łukasz", "lukasz"),
        ("Đorđević", "dordevic"),
        ("Işık", "isik"),
        ("O'Brien", "obrien"),
        ("Jean-Pierre", "jeanpierre"),
        ("ＰＵＴＩＮ", "putin"),  # full-width, folded by NFKC
        ("Vladimirovič", "vladimirovic"),
    ],
)
def test_latin_folding(token: str, expected: str) -> None:
    assert forms_of(token)[0] == expected


def test_german_umlauts_also_spelled_out() -> None:
    assert forms_of("Müller") == ["muller", "mueller"]


def test_tokens_without_letters_have_no_forms() -> None:
    assert token_forms("-") == []
    assert token_forms("・") == []
    assert token_forms("") == []


# --- Cyrillic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        # BGN/PCGN, BGN with plain e, popular, ICAO 9303, scholarly, German, French.
        (
            "Евгений",
            {
                "yevgeniy",
                "evgeniy",
                "evgeny",
                "evgenii",
                "yevgeni",
                "evgenij",
                "jewgeni",
                "evgueni",
            },
        ),
        ("Дмитрий", {"dmitriy", "dmitry", "dmitrii", "dmitri", "dmitrij"}),
        ("Юрий", {"yuriy", "yury", "iurii", "yuri", "jurij", "juri", "iouri"}),
        ("Щербаков", {"shcherbakov", "scerbakov", "schtscherbakow", "chtcherbakov"}),
        ("Хабаров", {"khabarov", "habarov", "chabarow"}),
        ("Сергей", {"sergey", "sergei", "sergej", "serguei"}),
        ("Александр", {"aleksandr", "alexandr"}),
        ("Пётр", {"petr", "pyotr", "pjotr", "piotr"}),
        ("Путин", {"putin", "poutine"}),
        ("Илья", {"ilya", "ilia", "ilja"}),
        ("Объедков", {"obyedkov", "obieedkov"}),  # ъ: BGN drops it, ICAO writes ie
        ("Толстой", {"tolstoy", "tolstoi", "tolstoj"}),
        ("Белый", {"belyy", "bely"}),
        ("Хрущёв", {"khrushchev", "khrushchov", "chruschtschow"}),
    ],
)
def test_cyrillic_variants(token: str, expected: set[str]) -> None:
    assert expected <= set(forms_of(token))


def test_cyrillic_most_common_first() -> None:
    assert forms_of("Евгений")[0] == "yevgeniy"  # BGN/PCGN, as OFAC and the UN write it
    assert forms_of("ВЛАДИМИР")[0] == "vladimir"
    assert forms_of("Влади́мир")[0] == "vladimir"  # stress accent dropped, й/ё kept


def test_bgn_iotated_e() -> None:
    assert forms_of("Ельцин")[0] == "yeltsin"  # word-initial
    assert "sergeyev" in forms_of("Сергеев")  # after a vowel
    assert "dmitriyev" in forms_of("Дмитриев")
    assert "grigoryev" in forms_of("Григорьев")  # after ь


def test_ukrainian_and_belarusian_letters() -> None:
    assert {"volodymyr", "zelenskyi"} <= set(forms_of("Володимир") + forms_of("Зеленський"))
    assert forms_of("Путін")[0] == "putin"
    assert forms_of("Уладзімір")[0] == "uladzimir"
    assert "ganna" in forms_of("Ганна") and "hanna" in forms_of("Ганна")


# --- Kana ----------------------------------------------------------------------------------

KANA_TARGETS = [
    ("ウラジーミル", "vladimir"),
    ("プーチン", "putin"),
    ("ドミトリー", "dmitry"),
    ("セルゲイ", "sergei"),
    ("セルゲイ", "sergey"),
    ("エフゲニー", "evgeny"),
    ("アレクサンドル", "aleksandr"),
    ("ヴォルコフ", "volkov"),
    ("ミハイル", "mikhail"),
    ("ミハイル", "mihail"),
]


@pytest.mark.parametrize(("kana", "latin"), KANA_TARGETS)
def test_kana_foreign_names(kana: str, latin: str) -> None:
    assert latin in forms_of(kana)
    assert skeleton_hit(kana, latin)


def test_kana_foreign_reading_first_when_it_looks_foreign() -> None:
    assert forms_of("ウラジーミル")[0] == "vladimir"
    assert forms_of("プーチン")[0] == "putin"
    assert forms_of("ドミトリー")[0] == "dmitry"
    assert forms_of("エフゲニー")[0] == "evgeny"
    assert forms_of("セルゲイ")[0] == "sergei"


def test_kana_japanese_names_read_as_hepburn() -> None:
    assert forms_of("ヤマダ") == ["yamada"]
    assert forms_of("タロウ")[:2] == ["taro", "tarou"]  # Hepburn drops the long vowel
    assert forms_of("スズキ")[0] == "suzuki"
    assert forms_of("マツモト")[0] == "matsumoto"


@pytest.mark.parametrize(
    ("kana", "latin"),
    [
        ("ヴィクトル", "viktor"),  # ヴ
        ("ウィリアム", "wiliam"),  # ウィ
        ("ウィリアム", "viliam"),
        ("ウェイ", "wei"),
        ("ウォルコフ", "volkov"),  # ウォ as v
        ("ティモシェンコ", "timoshenko"),  # ティ, シェ
        ("ディナミカ", "dinamika"),  # ディ
        ("トゥーラ", "tula"),  # トゥ, ー, ラ as l
        ("ドゥホフ", "dukhov"),  # ドゥ, ハ-row as kh, final フ as v
        ("ファイナ", "faina"),  # フ + small vowels
        ("フィリップ", "filip"),
        ("フェドロフ", "fedorov"),
        ("フォミン", "fomin"),
        ("ジューコフ", "zhukov"),  # ジ as zh
        ("ジューコフ", "jukov"),
        ("ヴァジム", "vadim"),  # ジ as di
        ("モーツァルト", "motsart"),  # ツァ
        ("ワシーリー", "vashiry"),  # ワ as v
        ("シルアノフ", "siruanov"),  # シ as si
        ("チャイカ", "chaika"),  # チャ
        ("ヴィッチ", "vich"),  # sokuon dropped, final チ as ch
        ("ニッポン", "nippon"),  # sokuon doubling
        ("ヴィンペル", "vimpel"),  # ン before p as m
        ("ヴィンペル", "vinpel"),
        ("スミルノフ", "smirnov"),  # epenthetic u dropped before a consonant
        ("プスコフ", "pskov"),
        ("ボリス", "boris"),  # final ス
        ("グラニット", "granit"),  # final ト
        ("ニコライ", "nikolay"),
        ("ナワリヌイ", "nawariny"),  # ヌイ for -ный
        ("クラースヌィ", "krasny"),  # ヌィ for ы
        ("ディーゼリ", "dizel"),  # final リ for -ль
        ("メドヴェージェフ", "medvedev"),
    ],
)
def test_kana_rules(kana: str, latin: str) -> None:
    assert latin in forms_of(kana)


@pytest.mark.parametrize(
    ("kana", "latin"),
    [
        ("ツポレフ", "tupolev"),
        ("ナワリヌイ", "navalny"),
        ("ラヴロフ", "lavrov"),
        ("ワシーリー", "vasily"),
    ],
)
def test_kana_rules_up_to_skeleton(kana: str, latin: str) -> None:
    # Several uncertain choices at once (ツ as tu, ワ as v, ラ as l): the exact spelling
    # may fall outside the eight forms, the phonetic key must not.
    assert skeleton_hit(kana, latin)


def test_half_width_katakana() -> None:
    assert forms_of("ｳﾗｼﾞｰﾐﾙ") == forms_of("ウラジーミル")
    assert forms_of("ﾌﾟｰﾁﾝ")[0] == "putin"
    assert latin_forms("ﾌﾟｰﾁﾝ ｳﾗｼﾞｰﾐﾙ")[0] == "putin vladimir"


def test_bank_style_full_size_small_kana() -> None:
    bank, proper = forms_of("ウイリアム"), forms_of("ウィリアム")
    assert "uiriamu" in bank  # the literal reading stays
    assert {"wiliam", "wiriam"} <= set(bank) & set(proper)
    assert "kyanon" in forms_of("キヤノン")  # キヤ for キャ
    assert "nippon" in forms_of("ニツポン")  # ツ for ッ


def test_hiragana_like_katakana() -> None:
    assert forms_of("やまだ") == ["yamada"]
    assert forms_of("たろう")[:2] == ["taro", "tarou"]
    assert forms_of("はなこ")[0] == "hanako"
    assert forms_of("ぷーちん")[0] == "putin"


def test_kanji_in_a_token() -> None:
    assert token_forms("山田たろう") == []  # kanji with kana: screened via the reading
    assert token_forms("山田") == ["shantian"]  # kanji alone: Mandarin reading (documented)


# --- Other scripts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "latin"),
    [
        ("Αλέξανδρος", "alexandros"),
        ("Νικόλαος", "nikolaos"),
        ("Βλαντίμιρ", "vladimir"),
        ("Πούτιν", "putin"),
        ("Χρήστος", "christos"),
        ("Ευάγγελος", "evangelos"),
        ("محمد", "mohamed"),
        ("أحمد", "ahmed"),
        ("عبدالله", "abdullah"),
        ("الرحمن", "rahman"),
        ("فلاديمير", "vladimir"),  # ف for v in a foreign name
        ("بوتين", "putin"),  # ب for p
        ("پوتین", "putin"),  # Persian
        ("משה", "moshe"),
        ("דוד", "david"),
        ("פוטין", "putin"),
        ("김정은", "kimjongun"),  # McCune-Reischauer as North Korea writes it
        ("김정은", "gimjeongeun"),  # Revised Romanization
        ("박지성", "parkjisung"),
        ("이민호", "leeminho"),
        ("블라디미르", "vladimir"),  # loanword: epenthetic ㅡ dropped
        ("푸틴", "putin"),
        ("习近平", "xijinping"),
        ("習近平", "xijinping"),
        ("สมชาย", "somchai"),
        ("Վլադիմիր", "vladimir"),
        ("ვლადიმერ", "vladimer"),
    ],
)
def test_other_scripts(token: str, latin: str) -> None:
    assert latin in forms_of(token)


def test_han_syllables() -> None:
    assert han_syllables("习近平") == ["xi", "jin", "ping"]
    assert han_syllables("王伟") == ["wang", "wei"]
    assert han_syllables("김정은") == ["kim", "jeong", "eun"]
    assert "xi jinping" in latin_forms("习近平")
    assert "kim jong un" in latin_forms("김정은")


# --- Tokeniser and whole names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("PUTIN, Vladimir Vladimirovich", ["PUTIN", "Vladimir", "Vladimirovich"]),
        ("ウラジーミル・プーチン", ["ウラジーミル", "プーチン"]),
        ("ｳﾗｼﾞｰﾐﾙ･ﾌﾟｰﾁﾝ", ["ウラジーミル", "プーチン"]),
        ("ジョン＝スミス", ["ジョン", "スミス"]),
        ("ジョン゠スミス", ["ジョン", "スミス"]),
        ("弗拉基米尔·普京", ["弗拉基米尔", "普京"]),
        ("Kim Jong-un", ["Kim", "Jong-un"]),
        ("Rimsky - Korsakov", ["Rimsky", "Korsakov"]),
        ("В. В. Путин", ["В", "В", "Путин"]),
        ("プーチン　ウラジーミル", ["プーチン", "ウラジーミル"]),  # ideographic space
        ("「ワグネル」", ["ワグネル"]),
    ],
)
def test_split_tokens(text: str, tokens: list[str]) -> None:
    assert split_tokens(text) == tokens


def test_latin_forms() -> None:
    forms = latin_forms("Владимир Путин")
    assert forms[0] == "vladimir putin"
    assert "wladimir putin" in forms and len(forms) <= 8
    assert latin_forms("ウラジーミル・プーチン")[0] == "vladimir putin"
    assert latin_forms("PUTIN, Vladimir") == ["putin vladimir"]
    assert latin_forms("") == [] and latin_forms(" ・ ") == []


# --- Skeleton ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "group",
    [
        ["vladimir", "wladimir", "vlagyimir", "vladimer", "wladimir", "vladmir"],
        ["putin", "poutine", "poetin", "putyin", "pootin"],
        ["yevgeniy", "evgeniy", "evgeny", "evgenii", "evgueni", "evgenij"],
        ["dmitriy", "dmitry", "dmitrii", "dmitri", "dmitrij"],
        ["sergei", "sergey", "sergej", "serguei"],
        ["aleksandr", "alexandr", "alexander", "areksandr"],
        ["mikhail", "mihail", "mihair"],
        ["shcherbakov", "scerbakov", "schtscherbakow", "chtcherbakov"],
        ["khabarov", "habarov"],
        ["yuriy", "yury", "iurii", "yuri", "iouri"],
        ["mohamed", "mohammed", "muhammad", "mohammad"],
        ["abdullah", "abdulla"],
        ["hussein", "husayn", "hossein"],
    ],
)
def test_skeleton_merges_spelling_variants(group: list[str]) -> None:
    assert len({skeleton(w) for w in group}) == 1, {w: skeleton(w) for w in group}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("mohamed", "mahmoud"),
        ("hasan", "husayn"),
        ("li", "ra"),
        ("putin", "patan"),
        ("ivan", "ivanov"),
    ],
)
def test_skeleton_keeps_different_names_apart(a: str, b: str) -> None:
    assert skeleton(a) != skeleton(b)


def test_skeleton_edges() -> None:
    assert skeleton("") == "" and skeleton("---") == ""
    assert skeleton("Vladimir") == skeleton("vladimir")
    assert skeleton("a") == "a"


# --- Robustness and speed ------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=24))
def test_token_forms_never_raise(text: str) -> None:
    for form in token_forms(text):
        assert ASCII_FORM.match(form)
    for form in latin_forms(text):
        assert form.isascii() and form == form.lower() and "  " not in form
    for token in split_tokens(text):
        assert token.strip()
    for form in token_forms(text):
        assert skeleton(form).isascii()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x3040, max_codepoint=0x30FF), max_size=12))
def test_kana_never_raise(text: str) -> None:
    assert all(ASCII_FORM.match(f) for f in token_forms(text))


def test_latin_speed() -> None:
    tokens = [f"{a}{b}{c}ovich" for a in "bcdfgklmnprstvz" for b in "aeiou" for c in "lmnrst"]
    translit._token_forms.cache_clear()
    start = time.perf_counter()
    for tok in tokens:
        token_forms(tok)
    per_token = (time.perf_counter() - start) / len(tokens)
    assert per_token < 1e-4, f"{per_token * 1e6:.1f} µs per Latin token"


# --- Reference data ------------------------------------------------------------------------

TITLES = {
    "president",
    "presidente",
    "prasident",
    "prezident",
    "predsjednik",
    "presedintele",
    "presiden",
    "elnok",
}


def _putin_line_covered(line: str, lenient: bool) -> bool:
    """Some whole-name form has a token whose skeleton is Putin's and, when the line names
    him with more than a title, one whose skeleton is Vladimir's. ``lenient`` also accepts
    one extra final letter (Baltic -s: Putins, Vladimirs)."""
    v, p = skeleton("vladimir"), skeleton("putin")

    def covers(key: str, target: str, loose: bool) -> bool:
        return key == target or (loose and key.startswith(target) and len(key) == len(target) + 1)

    given_name = False
    for tok in split_tokens(line):
        forms = token_forms(tok)
        if (
            len(tok) > 2
            and forms
            and forms[0] not in TITLES
            and not covers(skeleton(forms[0]), p, True)
        ):
            given_name = True
    for form in latin_forms(line):
        keys = [skeleton(t) for t in form.split()]
        if any(covers(k, p, lenient) for k in keys) and (
            not given_name or any(covers(k, v, lenient) for k in keys)
        ):
            return True
    return False


@pytest.mark.shared_data
def test_putin_variants(shared_data: Path) -> None:
    path = shared_data / "matching" / "putin_name_variants.txt"
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    strict = sum(_putin_line_covered(ln, False) for ln in lines) / len(lines)
    lenient = sum(_putin_line_covered(ln, True) for ln in lines) / len(lines)
    print(f"putin variants covered: {strict:.1%} exact skeletons, {lenient:.1%} with -s")
    assert strict >= 0.90  # 73/81; misses: Belarusian Uladzimir Pucin ×2, Baltic -s ×2,
    assert lenient >= 0.92  # Devanagari/Bengali bh-, Burmese b-, Chinese fulajimier


@pytest.mark.shared_data
def test_watchman_cross_script_pairs(shared_data: Path) -> None:
    path = shared_data / "matching" / "watchman_cross_script_pairs.csv"
    rows = [
        r
        for r in csv.reader(path.open(encoding="utf-8"))
        if len(r) >= 3 and not r[0].startswith("#")
    ]
    best = {
        (q, e): max(
            (fuzz.token_sort_ratio(a, b) for a in latin_forms(q) for b in latin_forms(e)), default=0
        )
        for q, e, *_ in rows
    }
    good = sum(score >= 80 for score in best.values())
    print(f"watchman cross-script pairs >= 80: {good}/{len(rows)}")
    # Misses: 金正恩 (a Korean name in hanja, read as Mandarin), 山田太郎 and 田中花子
    # (Japanese kanji, read as Mandarin: such customers are screened by their reading).
    assert good >= 19


LEGAL_FORMS_JA = (
    "非公開株式会社",
    "公開株式会社",
    "公共株式会社",
    "株式会社",
    "有限責任会社",
    "有限会社",
    "合同会社",
    "連邦国家単一企業",
    "連邦国家予算機関",
    "国営企業",
    "持株会社",
    "有限責任事業組合",
)


@pytest.mark.shared_data
def test_meti_katakana_names(shared_data: Path) -> None:
    path = shared_data / "matching" / "meti_russia_ja_en_pairs.csv"
    selected = hits = 0
    for row in csv.DictReader(path.open(encoding="utf-8")):
        ja = re.sub(r"（[^）]*）|\([^)]*\)", "", row["name_ja"])  # aliases in brackets
        for word in LEGAL_FORMS_JA:
            ja = ja.replace(word, "")
        letters = [ch for ch in ja if ch.isalpha()]
        kana = [ch for ch in letters if char_script(ch) == "Katakana"]
        if not letters or len(kana) < 0.8 * len(letters):
            continue
        selected += 1
        part = " ".join(re.findall(r"[\u30a0-\u30ff]+", ja))
        english = default_process(row["name_en"])
        hits += max((fuzz.token_set_ratio(f, english) for f in latin_forms(part)), default=0) >= 80
    print(
        f"METI katakana names with token_set_ratio >= 80: {hits}/{selected} = {hits / selected:.1%}"
    )
    # Most misses are English words in the English name that Japanese renders as sound
    # (センター for Center, テクノロジー for Technologies): only exact tokens count.
    assert selected >= 150
    assert hits / selected >= 0.42


@pytest.mark.shared_data
def test_skeleton_selectivity_on_ofac_surnames(shared_data: Path) -> None:
    path = shared_data / "lists" / "ofac" / "2019" / "sdn.csv"
    surnames = {
        translit.clean(r[1].split(",")[0])
        for r in csv.reader(path.open(encoding="latin-1"))
        if len(r) > 2 and r[2].strip().lower() == "individual" and "," in r[1]
    }
    groups: dict[str, set[str]] = defaultdict(set)
    for name in surnames:
        groups[skeleton(name)].add(name)
    shared = sum(len(g) for g in groups.values() if len(g) > 1) / len(surnames)
    print(f"OFAC surnames sharing a skeleton with another: {shared:.1%} of {len(surnames)}")
    assert shared < 0.20
