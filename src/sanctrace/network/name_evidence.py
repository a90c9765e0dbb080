"""Whether a name match may make a party *listed* for the ownership rule, or only possibly.

A verdict of "blocked" that rests on a name must rest on more than a resemblance: the match
needs a high score (``HIGH_SCORE``: the names agree nearly letter for letter) or a second
piece of evidence beside the name: a birth date or year, a nationality or country, or an
identifier agreeing (the screener's match features ``birth_date``, ``country`` and
``identifier``, positive when they agree). Anything else at or above the threshold makes the
party *possibly* listed, for an analyst to review: it counts toward the upper bound of the
50% rule only.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CORROBORATING", "HIGH_SCORE", "certain_name_match", "name_match_reason"]

HIGH_SCORE = 0.95
CORROBORATING = ("birth_date", "country", "identifier")


def corroborating(features: Mapping[str, float]) -> list[str]:
    """The facts beside the name that agree, by feature name."""
    return [k for k in CORROBORATING if features.get(k, 0.0) > 0]


def certain_name_match(score: float, threshold: float, features: Mapping[str, float]) -> bool:
    """A match that may make a party listed: at the threshold, and high or corroborated."""
    return score >= threshold and (score >= HIGH_SCORE or bool(corroborating(features)))


def name_match_reason(score: float, threshold: float, features: Mapping[str, float]) -> str:
    """Why a match makes a party only possibly listed (in the words of the verdict path)."""
    if score < threshold:
        return f"under the threshold {threshold:.2f}"
    return f"a name alone, below {HIGH_SCORE:.2f} and with no birth date, country or identifier agreeing"
