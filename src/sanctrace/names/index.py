"""Candidate retrieval: an inverted index over token skeletons and character trigrams.

Every list name is indexed under the phonetic skeletons of all its token transliterations
(so Yevgeny, Evgeniy and エフゲニー meet) and under the trigrams of its tokens' Latin forms
(so typos still meet). A query adds up the rarity (IDF) of the keys it shares with each name;
the best few dozen names go to the scorer. Keys held by more than one name in twenty carry
little information and are skipped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache

import numpy as np

from sanctrace.names.normalize import NameToken, NormalizedName

TRIGRAM_SHARE = 0.8  # a token fully matched by trigrams counts this much of a skeleton hit
MAX_KEY_SHARE = 0.05
QUERY_TRIGRAM_FORMS = 3  # a query's trigrams come from its three likeliest readings


def _trigrams(form: str) -> set[str]:
    padded = f"_{form}_"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


@lru_cache(maxsize=100_000)
def token_keys(token: NameToken, max_forms: int = 8) -> tuple[tuple[str, float], ...]:
    """(key, share) pairs of one token; the shares of a token's trigrams add up to TRIGRAM_SHARE.

    Skeletons come from every form; trigrams from the first ``max_forms`` forms.
    """
    keys = [("s:" + s, 1.0) for s in token.skeletons]
    forms = token.forms[:max_forms]
    grams: set[str] = set()
    for form in forms:
        if len(form) >= 3:
            grams |= _trigrams(form)
    if grams:
        share = TRIGRAM_SHARE / (len(grams) / max(1, len(forms)))
        keys.extend(("g:" + g, share) for g in grams)
    return tuple(keys)


class NameIndex:
    """Names (each owned by an entry, e.g. a list entity) searchable by their tokens."""

    def __init__(self) -> None:
        self.names: list[NormalizedName] = []
        self.owners: list[int] = []
        self._build: dict[str, list[int]] = defaultdict(list)
        self._postings: dict[str, np.ndarray] = {}
        self._idf: dict[str, float] = {}
        self._df_tokens: dict[str, int] = defaultdict(int)
        self._norm = np.ones(0)

    def __len__(self) -> int:
        return len(self.names)

    def add(self, owner: int, name: NormalizedName) -> None:
        name_id = len(self.names)
        self.names.append(name)
        self.owners.append(owner)
        seen: set[str] = set()
        for token in name.tokens:
            self._df_tokens[token.skeletons[0]] += 1
            for key, _ in token_keys(token):
                if key not in seen:
                    seen.add(key)
                    self._build[key].append(name_id)

    def freeze(self) -> None:
        """Turn the postings into arrays; call once after the last ``add``."""
        total = max(1, len(self.names))
        norm = np.zeros(len(self.names), dtype=np.float64)
        for key, ids in self._build.items():
            arr = np.asarray(ids, dtype=np.int32)
            self._postings[key] = arr
            self._idf[key] = idf = math.log(1 + total / len(ids))
            if key.startswith("s:"):
                norm[arr] += idf
        self._norm = np.sqrt(np.maximum(norm, 1.0))
        self._build = defaultdict(list)

    def token_weight(self, token: NameToken) -> float:
        """Rarity of a token: a common given name weighs less than a rare surname."""
        total = max(1, len(self.names))
        df = min((self._df_tokens.get(s, 0) for s in token.skeletons), default=0)
        return 1.0 + math.log(1 + total / (df + 1))

    def candidates(self, query: NormalizedName, limit: int = 40) -> list[int]:
        """Ids of the names that share the most informative keys with ``query``."""
        max_df = max(50, int(len(self.names) * MAX_KEY_SHARE))
        arrays, weights = [], []
        for token in query.tokens:
            for key, share in token_keys(token, QUERY_TRIGRAM_FORMS):
                ids = self._postings.get(key)
                # Common trigrams are skipped; a token's own skeleton never is, or a query of
                # common names (محمد علي) would find nothing.
                if ids is None or (len(ids) > max_df and not key.startswith("s:")):
                    continue
                arrays.append(ids)
                weights.append(np.full(len(ids), self._idf[key] * share, dtype=np.float32))
        if not arrays:
            return []
        ids = np.concatenate(arrays)
        scores: np.ndarray = np.bincount(
            ids, weights=np.concatenate(weights), minlength=len(self.names)
        )
        # Long names share keys with everything: divide by (the root of) their own key weight
        # so a short name that covers the query fully still ranks.
        scores = scores / self._norm
        best = np.flatnonzero(scores)  # the names that scored at all
        if len(best) > limit:
            best = best[np.argpartition(scores[best], -limit)[-limit:]]
        return [int(i) for i in best[np.argsort(-scores[best], kind="stable")]]
