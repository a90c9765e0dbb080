"""Shares as intervals: parsing percentages, ranges and UK PSC bands; band arithmetic."""

from __future__ import annotations

import pytest

from sanctrace.errors import SanctraceError
from sanctrace.network.shares import Share, ShareError, parse_share, same_pair, total


@pytest.mark.parametrize(
    ("text", "low", "high", "low_open", "high_open"),
    [
        ("60", 60, 60, False, False),
        ("60%", 60, 60, False, False),
        (" 12,5 % ", 12.5, 12.5, False, False),
        ("0.6", 0.6, 0.6, False, False),  # percent, not a fraction
        ("100", 100, 100, False, False),
        ("0", 0, 0, False, False),
        ("25-50", 25, 50, False, False),
        ("25 to 50%", 25, 50, False, False),
        ("more than 25% but not more than 50%", 25, 50, True, False),
        ("more than 50% but less than 75%", 50, 75, True, True),
        ("75% or more", 75, 100, False, False),
        ("ownership-of-shares-25-to-50-percent", 25, 50, True, False),
        ("ownership-of-shares-50-to-75-percent-as-trust", 50, 75, True, True),
        ("ownership-of-shares-75-to-100-percent", 75, 100, False, False),
        ("voting-rights-25-to-50-percent-as-firm", 25, 50, True, False),
        ("at least 50%", 50, 100, False, False),
        ("not more than 50%", 0, 50, False, False),
        ("less than 10%", 0, 10, False, True),
        (">50", 50, 100, True, False),
    ],
)
def test_parse_share(text: str, low: float, high: float, low_open: bool, high_open: bool) -> None:
    share = parse_share(text)
    assert (share.low, share.high, share.low_open, share.high_open) == (
        low,
        high,
        low_open,
        high_open,
    )
    assert share.text == " ".join(text.split())


def test_numbers_and_exactness() -> None:
    assert parse_share(51) == Share(51.0, 51.0, "51")
    assert parse_share(33.3).exact
    assert not parse_share("25-50").exact
    assert parse_share("more than 25% but not more than 50%").label() == "(25%, 50%]"
    assert parse_share("51").label() == "51%"


@pytest.mark.parametrize("value", [None, "", "  ", "unknown", "n/a", float("nan")])
def test_missing_share_is_unknown(value: object) -> None:
    share = parse_share(value)  # type: ignore[arg-type]
    assert (share.low, share.high) == (0, 100)
    assert share.unknown
    assert share.label() == "unknown"


def test_missing_share_with_a_role() -> None:
    # "subsidiary of" states no share: a subsidiary can be held by control with a minority.
    assert parse_share(None, "subsidiary of").unknown
    assert parse_share("", "parent").unknown
    assert parse_share(None, "shareholder").unknown
    wholly = parse_share(None, "wholly-owned subsidiary")
    assert (wholly.low, wholly.high) == (100, 100)
    majority = parse_share(None, "majority shareholder")
    assert (majority.low, majority.high, majority.low_open) == (50, 100, True)
    minority = parse_share(None, "minority shareholder")
    assert (minority.low, minority.high, minority.high_open) == (0, 50, True)
    # A percentage, when present, wins over the role.
    assert parse_share("30", "majority shareholder").high == 30


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("140", "'140' is over 100%"),
        ("100.5%", "over 100%"),
        (140, "140 is over 100%"),
        ("-5", "'-5' is negative"),
        (-0.1, "-0.1 is negative"),
        ("60-40", "lower bound above upper bound"),
        ("half", "not a percentage"),
        ("25-150", "over 100%"),
    ],
)
def test_bad_shares(value: object, message: str) -> None:
    with pytest.raises(ShareError, match=message) as info:
        parse_share(value)  # type: ignore[arg-type]
    assert isinstance(info.value, SanctraceError)


def test_sum_of_bands() -> None:
    band = parse_share("more than 25% but not more than 50%")  # (25, 50]
    exact = parse_share("10")
    both = total([band, exact])
    assert (both.low, both.high, both.low_open, both.high_open) == (35, 60, True, False)
    # Two (25, 50] bands: certainly more than 50%, at most 100%.
    two = band + band
    assert (two.low, two.high, two.low_open) == (50, 100, True)
    # Upper bounds cap at 100 (no one holds more than all of it).
    unknowns = total([parse_share(None), parse_share(None)])
    assert (unknowns.low, unknowns.high) == (0, 100)
    # Lower bounds that add up past 100 (inconsistent data) cap too.
    over = total([parse_share("70"), parse_share("60")])
    assert (over.low, over.high) == (100, 100)
    # A missing percentage adds nothing certain and everything possible.
    with_unknown = total([parse_share("30"), parse_share(None)])
    assert (with_unknown.low, with_unknown.high) == (30, 100)
    assert total([]) == Share(0.0, 0.0, "")


def test_same_pair_records() -> None:
    # Two records for one owner and asset may restate one holding or be separate blocks:
    # the largest lower bound and the sum of the upper bounds hold either way.
    merged = same_pair([parse_share("49"), parse_share(None, "subsidiary of")])
    assert (merged.low, merged.high) == (49, 100)
    merged = same_pair([parse_share("20"), parse_share("25-30")])
    assert (merged.low, merged.high) == (25, 50)
    single = parse_share("5")
    assert same_pair([single]) is single
