"""Birth dates in the Japanese era form (昭和63年5月5日, S63.5.5, 平成元年) are read, or refused
with a reason — never dropped silently (issue 15, Japanese input)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctrace.customer_dates import DateError, customer_date, parse_customer_date, readable_date
from sanctrace.errors import BadRequest
from sanctrace.model import Entity, NameKind, NameQuery
from sanctrace.names.screener import Screener
from sanctrace.network.kyb import KybCompany, KybParty, read_kyb, records_from_companies
from sanctrace.services._bulk_csv import read_queries
from sanctrace.services.names import NameScreenRequest


@pytest.mark.parametrize(
    ("text", "iso"),
    [("昭和63年5月5日", "1988-05-05"), ("S63.5.5", "1988-05-05"), ("s63/05/05", "1988-05-05"),
     ("R2.1.1", "2020-01-01"), ("令和2年1月1日", "2020-01-01"), ("平成元年", "1989"),
     ("平成元年1月8日", "1989-01-08"), ("H1.1.8", "1989-01-08"), ("昭和64年1月7日", "1989-01-07"),
     ("H31.4.30", "2019-04-30"), ("令和元年5月1日", "2019-05-01"), ("平成3年12月", "1991-12"),
     ("昭和６３年５月５日", "1988-05-05"), ("大正元年", "1912"), ("明治45年7月29日", "1912-07-29"),
     ("1988年5月5日", "1988-05-05"), ("1988/5/5", "1988-05-05"), ("1988.05.05", "1988-05-05"),
     ("1988-05-05", "1988-05-05"), ("1988-05", "1988-05"), ("1988", "1988"),
     ("19880505", "1988-05-05"), (" S 63. 5. 5 ", "1988-05-05")],
)  # fmt: skip
def test_dates_as_customers_write_them(text: str, iso: str) -> None:
    assert customer_date(text) == iso


@pytest.mark.parametrize(
    ("text", "reason"),
    [("平成元年1月7日", "outside the 平成 (H) era (1989-01-08 to 2019-04-30)"),
     ("昭和64年1月8日", "outside the 昭和 (S) era"), ("平成32年", "outside the 平成 (H) era"),
     ("令和元年4月30日", "outside the 令和 (R) era"), ("昭和63年2月30日", "is not a real date"),
     ("1988-13-01", "is not a real date"), ("S0.1.1", "an era year starts at 1"),
     ("05/06/1988", "day and month order is ambiguous; write YYYY-MM-DD"),
     ("不明", "is not a date"), ("", "empty date")],
)  # fmt: skip
def test_dates_that_cannot_be_read_say_why(text: str, reason: str) -> None:
    with pytest.raises(DateError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        customer_date(text)


def test_a_request_field_names_itself_and_where() -> None:
    assert parse_customer_date(None) is None and parse_customer_date(" ") is None
    with pytest.raises(BadRequest, match=r"^f\.csv:line 3: birth_date: '平成32年' is outside"):
        parse_customer_date("平成32年", where="f.csv:line 3")


def test_a_screen_request_converts_an_era_date_or_refuses_it() -> None:
    request = NameScreenRequest(name="山田太郎", birth_date="昭和63年5月5日")
    assert request.birth_date == "1988-05-05"
    assert request.query().birth_date == "1988-05-05"
    with pytest.raises(BadRequest, match="birth_date: '昭和64年2月1日' is outside the 昭和"):
        NameScreenRequest(name="山田太郎", birth_date="昭和64年2月1日")


def test_a_bulk_csv_converts_era_dates_and_names_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("id,name,birth_date\n1,Yamada Taro,S63.5.5\n2,Sato Yuko,\n", encoding="utf-8")
    assert [q.birth_date for q in read_queries(good)] == ["1988-05-05", None]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,birth_date\n1,A,1988\n2,B,平成元年1月7日\n", encoding="utf-8")
    with pytest.raises(BadRequest, match=r"bad\.csv:line 3: birth_date: '平成元年1月7日'"):
        read_queries(bad)


@pytest.fixture(scope="module")
def screener() -> Screener:
    entity = Entity(id="p1", schema="Person", source="test", source_id="p1")
    entity.add_name("YAMADA Taro", NameKind.PRIMARY)
    entity.add("birthDate", "1988-05-05")
    return Screener.from_entities([entity])


def test_the_screen_uses_an_era_date_it_is_given_directly(screener: Screener) -> None:
    # A caller that passes the text as stored (a monitoring event) still gets the evidence.
    (match,) = screener.screen(NameQuery("YAMADA Taro", schema="Person", birth_date="S63.5.5"))
    assert "birth date 1988-05-05 matches" in match.explanation
    assert match.score == 1.0


def test_the_screen_says_when_a_date_is_not_used(screener: Screener) -> None:
    query = NameQuery("YAMADA Taro", schema="Person", birth_date="平成32年")
    (match,) = screener.screen(query)
    assert "birth date not used: '平成32年' is outside the 平成 (H) era" in match.explanation
    assert readable_date("1988-05-05") == ("1988-05-05", None)


def test_kyb_files_and_objects_read_era_dates(tmp_path: Path) -> None:
    kyb = tmp_path / "kyb.csv"
    kyb.write_text(
        "company_id,company_name,incorporation_date,party_name,party_type,"
        "party_birth_date,relation,share\n"
        "C1,Sakura Shoji KK,平成3年4月1日,Yamada Taro,person,昭和63年5月5日,shareholder,60\n"
        "C1,,,Sato Yuko,person,平成32年1月1日,director,\n",
        encoding="utf-8",
    )
    records, problems = read_kyb([kyb])
    by_name = {
        r["properties"]["name"][0]: r["properties"]
        for r in records
        if "name" in r.get("properties", {})
    }
    assert by_name["Sakura Shoji KK"]["incorporationDate"] == ["1991-04-01"]
    assert by_name["Yamada Taro"]["birthDate"] == ["1988-05-05"]
    assert "birthDate" not in by_name["Sato Yuko"]
    assert [str(p) for p in problems] == [
        f"{kyb}:3: party_birth_date: '平成32年1月1日' is outside the 平成 (H) era "
        "(1989-01-08 to 2019-04-30); date ignored"
    ]
    company = KybCompany(
        id="C2", name="Fuji KK", shareholders=(KybParty(name="Yamada Taro", birth_date="S63.5.5"),)
    )
    records, _ = records_from_companies([company])
    party = next(r for r in records if r["schema"] == "Person")
    assert party["properties"]["birthDate"] == ["1988-05-05"]
