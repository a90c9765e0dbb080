"""Data loaders and query generators for ``bench/names.py``.

Everything is read from the reference data folder (``SANCTRACE_SHARED_DATA``, default
``<project root>/../shared/data``); nothing here is copied into the repository. Every random
choice goes through a seeded ``random.Random``, so two runs screen the same queries.
"""

from __future__ import annotations

import csv
import os
import random
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("SANCTRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))
MATCHING = DATA / "matching"
LISTS = DATA / "lists"

OFAC_FILES = (LISTS / "ofac" / "2024-05-03" / "sdn.csv.gz", LISTS / "ofac" / "2025-12" / "alt.csv")
UN_FILE = LISTS / "un" / "UN_consolidated_2026-02-27.xml"

# ---------------------------------------------------------------------------------------------
# helpers


def name_key(text: str) -> str:
    """Order-free, case- and accent-free key of a name: equal keys = the same name as written."""
    folded = unicodedata.normalize("NFKD", text).casefold()
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    tokens = re.findall(r"\w+", folded)
    return " ".join(sorted(tokens))


def _bool(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "t")


# ---------------------------------------------------------------------------------------------
# sanctions lists


@dataclass
class Lists:
    ofac: list  # list[Entity]
    un: list
    seconds: float
    warnings: int

    @property
    def entities(self) -> list:
        return self.ofac + self.un


def load_lists() -> Lists:
    """OFAC SDN.CSV 2024-05-03 with the 2025-12 aliases, and the UN consolidated list."""
    from sanctrace.lists.base import ParseReport
    from sanctrace.lists.registry import get_format

    start = time.perf_counter()
    report_ofac, report_un = ParseReport(), ParseReport()
    ofac = list(get_format("ofac_csv").parse(list(OFAC_FILES), "us_ofac_sdn", report_ofac))
    un = list(get_format("un_xml").parse([UN_FILE], "un_sc_sanctions", report_un))
    seconds = time.perf_counter() - start
    warnings = len(getattr(report_ofac, "warnings", [])) + len(getattr(report_un, "warnings", []))
    return Lists(ofac, un, seconds, warnings)


def make_entity(entity_id: str, schema: str, name: str, **props: str | None):
    from sanctrace.model import Entity, NameKind

    entity = Entity(id=entity_id, schema=schema, source="bench", source_id=entity_id)
    entity.add_name(name, NameKind.PRIMARY)
    for prop, value in props.items():
        if value:
            entity.add(prop, value)
    return entity


# ---------------------------------------------------------------------------------------------
# labelled data sets


def pair_cases() -> list[dict]:
    """The 826 labelled pairs: case_group, schema, name1, name2, is_match (bool)."""
    with open(MATCHING / "nomenklatura_name_bench_cases.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["is_match"] = _bool(row["is_match"])
    return rows


def logicv2_precomputed() -> dict[tuple[str, str, str], float]:
    """Precomputed logic-v2 scores, keyed by (schema, name1, name2).

    The label is not part of the key: the score does not depend on it, and the file's labels
    differ from the cases file's on a few rows (the cases file is the reference).
    """
    out = {}
    with open(MATCHING / "nomenklatura_logicv2_scores.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[(row["schema"], row["name1"], row["name2"])] = float(row["score"])
    return out


def cross_script_pairs() -> list[dict]:
    """The 21 Watchman cross-script pairs: query, expected, min_score, description."""
    rows = []
    with open(MATCHING / "watchman_cross_script_pairs.csv", encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip() and not line.lstrip().startswith("#")]
    for query, expected, min_score, description in csv.reader(lines):
        rows.append(
            {
                "query": query.strip(),
                "expected": expected.strip(),
                "min_score": float(min_score),
                "description": description.strip(),
            }
        )
    return rows


def putin_variants() -> list[str]:
    with open(MATCHING / "putin_name_variants.txt", encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip()]


def persons_csv(name: str) -> list[dict]:
    """un_persons_positives*.csv and negatives_*.csv: full_name, date_of_birth, nationality …"""
    with open(MATCHING / name, encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row.get("full_name", "").strip()]


# ---------------------------------------------------------------------------------------------
# METI Japanese ↔ English pairs

# Japanese legal-form and organisation-type words, longest first: removed before the script
# share of a name is measured (they are translated words in every name, whatever the rest).
JA_LEGAL_FORMS = sorted(
    {
        "非公開株式会社",
        "公開株式会社",
        "公共株式会社",
        "株式会社",
        "有限責任会社",
        "有限会社",
        "合同会社",
        "合資会社",
        "合名会社",
        "連邦国家単一企業",
        "連邦単一国家企業",
        "国家単一企業",
        "単一企業",
        "連邦国家予算機関",
        "連邦国家予算学術機関",
        "連邦国家自治機関",
        "連邦国家機関",
        "連邦国家企業",
        "連邦自治機関",
        "国営企業",
        "国営会社",
        "持株会社",
        "合弁企業",
        "自治非営利組織",
        "非営利組織",
        "一般社団法人",
        "財団法人",
    },
    key=len,
    reverse=True,
)
_PAREN = re.compile(r"[（(][^（）()]*[）)]?")


def _is_katakana(ch: str) -> bool:
    code = ord(ch)
    return (0x30A1 <= code <= 0x30FA) or code == 0x30FC or (0xFF66 <= code <= 0xFF9D)


def katakana_share(name_ja: str) -> float:
    """Share of katakana among the letters of a Japanese name, legal forms and asides removed.

    Asides in parentheses (``（別称、…）``: other names, often in Latin) are not the Japanese
    name itself and are dropped first.
    """
    text = _PAREN.sub("", unicodedata.normalize("NFKC", name_ja))
    for form in JA_LEGAL_FORMS:
        text = text.replace(form, "")
    letters = [ch for ch in text if unicodedata.category(ch).startswith("L")]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if _is_katakana(ch)) / len(letters)


def meti_pairs() -> list[dict]:
    """559 pairs: list_no, name_ja, name_en, kind (transliterated | translated), katakana share."""
    with open(MATCHING / "meti_russia_ja_en_pairs.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        share = katakana_share(row["name_ja"])
        row["katakana_share"] = round(share, 3)
        row["kind"] = "transliterated" if share >= 0.6 else "translated"
    return rows


# ---------------------------------------------------------------------------------------------
# generated queries

KATAKANA_GIVEN = (
    "ウラジーミル アレクサンドル セルゲイ ドミトリー イワン ミハイル アンドレイ ニコライ ユーリ "
    "オレグ ヴィクトル イーゴリ ボリス ムハンマド アフマド アリ ハッサン オマル ユセフ ジョン "
    "マイケル デービッド ロバート キム アリシェル ロマン ゲンナジー アルカジー"
).split()
KATAKANA_FAMILY = (
    "プーチン イワノフ ペトロフ スミルノフ ソコロフ クズネツォフ ポポフ ワシリエフ ノヴィコフ "
    "モロゾフ ヴォルコフ アブラモヴィッチ デリパスカ ヴェクセリベルグ ローテンベルク ティムチェンコ "
    "セーチン シュワロフ フセイン ラフマン ハリーリ スミス ジョンソン ウスマノフ ミレル コワリチュク"
).split()

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo(rng: random.Random, text: str, edits: int = 1) -> str:
    """``edits`` random single-letter edits (delete, insert, substitute, transpose)."""
    chars = list(text)
    for _ in range(edits):
        spots = [i for i, ch in enumerate(chars) if ch.isalpha()]
        if len(spots) < 4:
            break
        i = rng.choice(spots)
        op = rng.randrange(4)
        upper = chars[i].isupper()
        letter = rng.choice(_LETTERS)
        letter = letter.upper() if upper else letter
        if op == 0:
            del chars[i]
        elif op == 1:
            chars.insert(i, letter)
        elif op == 2:
            chars[i] = letter
        elif i + 1 < len(chars) and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def reorder(rng: random.Random, text: str) -> str:
    """'LAST, First Middle' → 'First Middle LAST'; otherwise the tokens shuffled."""
    if "," in text:
        last, _, rest = text.partition(",")
        return f"{rest.strip()} {last.strip()}".strip()
    tokens = text.split()
    if len(tokens) < 2:
        return text
    shuffled = tokens[:]
    while shuffled == tokens:
        rng.shuffle(shuffled)
    return " ".join(shuffled)


def katakana_name(rng: random.Random) -> str:
    given, family = rng.choice(KATAKANA_GIVEN), rng.choice(KATAKANA_FAMILY)
    return f"{given}・{family}" if rng.random() < 0.6 else f"{family} {given}"


def speed_queries(lists: Lists, n: int = 10_000, seed: int = 20260301) -> list[tuple[str, object]]:
    """A deterministic mix of ``n`` (kind, NameQuery) pairs.

    Shares: list names with one or two typos 35%, reordered list names 15%, exact list names
    10%, generated negatives 10%, katakana person names 10%, and all the recall-set queries
    (UN perturbed, Putin renderings, METI Japanese names, cross-script), the rest topped up
    with more typo'd list names.
    """
    from sanctrace.model import NameQuery

    rng = random.Random(seed)
    pool = [(e.schema, name.value) for e in lists.entities for name in e.names]
    out: list[tuple[str, object]] = []

    def schema_of(schema: str) -> str | None:
        return schema if rng.random() < 0.5 else None

    def add_list(kind: str, count: int, change) -> None:
        for _ in range(count):
            schema, value = rng.choice(pool)
            out.append((kind, NameQuery(change(value), schema=schema_of(schema))))

    add_list("list_typo", int(n * 0.35), lambda v: typo(rng, v, rng.choice((1, 1, 2))))
    add_list("list_reordered", int(n * 0.15), lambda v: reorder(rng, v))
    add_list("list_exact", int(n * 0.10), lambda v: v)
    negatives = persons_csv("negatives_global.csv") + persons_csv("negatives_us.csv")
    for row in rng.sample(negatives, min(len(negatives), int(n * 0.10))):
        out.append(("negative", NameQuery(row["full_name"], schema="Person")))
    for _ in range(int(n * 0.10)):
        out.append(("katakana", NameQuery(katakana_name(rng), schema="Person")))
    for row in persons_csv("un_persons_positives_perturbed.csv"):
        out.append(("un_perturbed", NameQuery(row["full_name"], schema="Person")))
    for value in putin_variants():
        out.append(("putin", NameQuery(value, schema="Person")))
    for row in meti_pairs():
        out.append(("meti_ja", NameQuery(row["name_ja"], schema="LegalEntity")))
    for row in cross_script_pairs():
        out.append(("cross_script", NameQuery(row["query"], schema="Person")))
    if len(out) < n:
        add_list("list_typo", n - len(out), lambda v: typo(rng, v, rng.choice((1, 2))))
    rng.shuffle(out)
    return out[:n]
