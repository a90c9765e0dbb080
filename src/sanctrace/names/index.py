"""Candidate retrieval: an inverted index over token skeletons and character trigrams.

Every list name is indexed under the phonetic skeletons of all its token transliterations
(so Yevgeny, Evgeniy and エフゲニー meet) and under the trigrams of its tokens' Latin forms
(so typos still meet). A query adds up the rarity (IDF) of the keys it shares with each name;
the best few dozen names go to the scorer. Trigrams held by more than one name in twenty
carry little information and are skipped.

The frozen index is flat arrays (``stored.IndexArrays``): the keys in id order, posting
offsets and name ids (CSR), each key's rarity and token count, each name's norm. The same
arrays come from ``freeze`` or from a saved folder, mapped.
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
SORT_BELOW = 300  # postings under which ranking sorts them rather than pass over all names


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
        keys.extend(("g:" + g, share) for g in sorted(grams))
    return tuple(keys)


class NameIndex:
    """Names searchable by their tokens: ``add`` them, ``freeze``, then ``candidates``."""

    def __init__(self) -> None:
        self._count = 0
        self._build: dict[str, list[int]] = defaultdict(list)
        self._df_tokens: dict[str, int] = defaultdict(int)
        self._key_id: dict[str, int] = {}
        self._post_off = np.zeros(1, dtype=np.int64)
        self._post_ids = np.zeros(0, dtype=np.int32)
        self._idf = np.zeros(0, dtype=np.float64)
        self._df = np.zeros(0, dtype=np.int32)
        self._norm = np.ones(0)
        self._key_weight_cache: dict[tuple[str, float], tuple[int, float] | None] = {}

    def __len__(self) -> int:
        return self._count

    def add(self, owner: int, name: NormalizedName) -> None:
        """Index the next name (its id is the number of names added before it)."""
        name_id = self._count
        self._count += 1
        seen: set[str] = set()
        for token in name.tokens:
            self._df_tokens[token.skeletons[0]] += 1
            for key, _ in token_keys(token):
                if key not in seen:
                    seen.add(key)
                    self._build[key].append(name_id)

    def freeze(self) -> dict[str, np.ndarray]:
        """Turn the postings into arrays (call once after the last ``add``); returns them."""
        total = max(1, self._count)
        keys = list(self._build)
        lengths = np.fromiter((len(self._build[k]) for k in keys), dtype=np.int64, count=len(keys))
        post_off = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(lengths, out=post_off[1:])
        post_ids = np.fromiter(
            (i for k in keys for i in self._build[k]), dtype=np.int32, count=int(post_off[-1])
        )
        idf = np.log1p(total / np.maximum(lengths, 1)).astype(np.float64)
        df = np.fromiter(
            (self._df_tokens.get(k[2:], 0) if k.startswith("s:") else 0 for k in keys),
            dtype=np.int32,
            count=len(keys),
        )
        norm = np.zeros(self._count, dtype=np.float64)
        is_skel = np.fromiter((k.startswith("s:") for k in keys), dtype=bool, count=len(keys))
        owners = np.repeat(np.arange(len(keys)), lengths)
        held = is_skel[owners]  # the postings of skeleton keys
        np.add.at(norm, post_ids[held], idf[owners[held]])
        arrays: dict[str, np.ndarray] = {
            "key_blob": np.frombuffer("\x00".join(keys).encode("utf-8"), dtype=np.uint8),
            "post_off": post_off,
            "post_ids": post_ids,
            "key_idf": idf,
            "key_df": df,
            "name_norm": np.sqrt(np.maximum(norm, 1.0)),
        }
        self._build = defaultdict(list)
        self._df_tokens = defaultdict(int)
        self._load(arrays, keys, self._count)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], keys: list[str]) -> NameIndex:
        """The index over arrays that ``freeze`` made (mapped from a folder, say)."""
        index = cls()
        index._load(arrays, keys, len(arrays["name_norm"]))
        return index

    def _load(self, arrays: dict[str, np.ndarray], keys: list[str], count: int) -> None:
        self._count = count
        self._key_id = {k: i for i, k in enumerate(keys)}
        self._post_off = arrays["post_off"]
        self._post_ids = arrays["post_ids"]
        self._idf = arrays["key_idf"]
        self._df = arrays["key_df"]
        self._norm = arrays["name_norm"]
        self._key_weight_cache = {}

    def token_weight(self, token: NameToken) -> float:
        """Rarity of a token: a common given name weighs less than a rare surname."""
        total = max(1, self._count)
        dfs = []
        for s in token.skeletons:
            k = self._key_id.get("s:" + s)
            dfs.append(int(self._df[k]) if k is not None else 0)
        df = min(dfs, default=0)
        return 1.0 + math.log(1 + total / (df + 1))

    def _key(self, key: str, share: float) -> tuple[int, float] | None:
        """(key id, weight) of a query key; None when absent or too common to help."""
        cached = self._key_weight_cache.get((key, share), False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        found: tuple[int, float] | None = None
        k = self._key_id.get(key)
        if k is not None:
            size = int(self._post_off[k + 1] - self._post_off[k])
            max_df = max(50, int(self._count * MAX_KEY_SHARE))
            # Common trigrams are skipped; a token's own skeleton never is, or a query of
            # common names (محمد علي) would find nothing.
            if size <= max_df or key.startswith("s:"):
                found = (k, float(self._idf[k]) * share)
        if len(self._key_weight_cache) < 500_000:
            self._key_weight_cache[(key, share)] = found
        return found

    def candidates(self, query: NormalizedName, limit: int = 40) -> list[int]:
        """Ids of the names that share the most informative keys with ``query``."""
        picked: dict[int, float] = {}
        for token in query.tokens:
            for key, share in token_keys(token, QUERY_TRIGRAM_FORMS):
                hit = self._key(key, share)
                if hit is not None:
                    picked[hit[0]] = picked.get(hit[0], 0.0) + hit[1]
        return self.ranked(picked, limit)

    def ranked(self, picked: dict[int, float], limit: int) -> list[int]:
        """The ``limit`` names with the highest sum of the weights of the keys they hold,
        best first, ties by id.

        Long names share keys with everything: the sum is divided by (the root of) the
        name's own skeleton weight, so a short name that covers the query fully still ranks."""
        if not picked or limit < 1:
            return []
        off = self._post_off
        parts = [self._post_ids[off[k] : off[k + 1]] for k in picked]
        ids = np.concatenate(parts)
        if not len(ids):
            return []
        weights = np.repeat(
            np.fromiter(picked.values(), dtype=np.float64, count=len(picked)),
            [len(p) for p in parts],
        )
        # numpy, not a compiled kernel: numba's first call in a process costs about a second,
        # more than a cold `screen name` may take. Few postings: sort them; many: a dense pass.
        names: np.ndarray
        if len(ids) <= SORT_BELOW:
            names, inverse = np.unique(ids, return_inverse=True)
            sums = np.bincount(inverse, weights=weights)
        else:
            dense = np.bincount(ids, weights=weights, minlength=self._count)
            seen = np.zeros(self._count, dtype=bool)
            seen[ids] = True
            names = np.flatnonzero(seen)
            sums = dense[names]
        scores = sums / self._norm[names]
        if len(names) > limit:
            cut = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            keep = scores >= cut  # every tie at the cut stays until the sort below
            names, scores = names[keep], scores[keep]
        order = np.lexsort((names, -scores))[:limit]
        return [int(i) for i in names[order]]
