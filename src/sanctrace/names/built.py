"""What a screener is built from: list entries, their normalised names and distinct tokens,
and the candidate index — in memory after a build, or mapped from a saved folder.

``ScreenerData.build`` normalises every name once (the slow part: seconds for OFAC + UN);
``save`` writes it as arrays (``stored.IndexArrays``) and ``load`` maps it back in
milliseconds. Screeners with different options (threshold, candidates) share one data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sanctrace.model import Entity, NameKind
from sanctrace.names.index import NameIndex
from sanctrace.names.legal_forms import LegalForm
from sanctrace.names.normalize import NameToken, NormalizedName, variants
from sanctrace.names.scorer import effective_weight
from sanctrace.names.stored import IndexArrays, Records, pack

ID_PROPERTIES = (
    "passportNumber",
    "idNumber",
    "taxNumber",
    "innCode",
    "ogrnCode",
    "registrationNumber",
    "imoNumber",
)


@dataclass
class Entry:
    """A list entity as the screener keeps it: identity plus secondary facts."""

    entity_id: str
    source: str
    source_id: str
    schema: str
    caption: str
    snapshot_id: int | None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class IndexedName:
    """One normalised form of one name of an entry."""

    entry: int
    name: NormalizedName
    value: str
    kind: NameKind


def prepare(
    entity: Entity, entry_id: int, snapshot_id: int | None
) -> tuple[Entry, list[IndexedName]]:
    """The screener's view of an entity: its entry and its normalised names."""
    names: list[IndexedName] = []
    forms: list[LegalForm] = []
    for name in entity.names:
        for norm in variants(name.value, entity.schema):
            forms.extend(norm.legal_forms)
            names.append(IndexedName(entry_id, norm, name.value, name.kind))
    facts = {
        "birthDate": entity.get("birthDate"),
        "countries": [c for p in ("nationality", "country", "citizenship") for c in entity.get(p)],
        "identifiers": [v for p in ID_PROPERTIES for v in entity.get(p)],
        "legal_forms": tuple(dict.fromkeys(forms)),
    }
    entry = Entry(
        entity.id,
        entity.source,
        entity.source_id,
        entity.schema,
        entity.caption,
        snapshot_id,
        facts,
    )
    return entry, names


class ScreenerData:
    """Entries, names, distinct tokens and the candidate index of one set of list entities."""

    def __init__(
        self,
        entries: Records[Entry],
        names: Records[IndexedName],
        tokens: Records[NameToken],
        index: NameIndex,
        arrays: dict[str, np.ndarray],
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.entries = entries
        self.names = names
        self.tokens = tokens
        self.index = index
        self.arrays = arrays
        self.meta = dict(meta or {})
        self.name_tok_off: np.ndarray = arrays["name_tok_off"]
        self.name_tok: np.ndarray = arrays["name_tok"]
        self.tok_weight: np.ndarray = arrays["tok_weight"]
        self.weights: dict[str, float] = {}  # query token weights, by raw text
        self.folder: Path | None = None  # where it is mapped from (None: built in memory)

    @classmethod
    def build(
        cls, prepared: Iterable[tuple[Entry, list[IndexedName]]], meta: dict[str, Any] | None = None
    ) -> ScreenerData:
        """Index prepared entries (``prepare``), numbering them in order."""
        entries: list[Entry] = []
        names: list[IndexedName] = []
        token_ids: dict[NameToken, int] = {}
        tokens: list[NameToken] = []
        name_tok: list[int] = []
        name_tok_off = [0]
        index = NameIndex()
        for entry, entry_names in prepared:
            if not entry_names:
                continue
            entry_id = len(entries)
            entries.append(entry)
            for indexed in entry_names:
                indexed.entry = entry_id
                names.append(indexed)
                index.add(len(names) - 1, indexed.name)
                for token in indexed.name.tokens:
                    tid = token_ids.get(token)
                    if tid is None:
                        tid = token_ids[token] = len(tokens)
                        tokens.append(token)
                    name_tok.append(tid)
                name_tok_off.append(len(name_tok))
        arrays = index.freeze()
        arrays["name_tok_off"] = np.asarray(name_tok_off, dtype=np.int64)
        arrays["name_tok"] = np.asarray(name_tok, dtype=np.int32)
        arrays["tok_weight"] = np.asarray(
            [effective_weight(t, index.token_weight(t)) for t in tokens], dtype=np.float64
        )
        return cls(Records(entries), Records(names), Records(tokens), index, arrays, meta)

    def save(self, folder: Path, extra: dict[str, Any] | None = None) -> None:
        """Write the data as arrays into the new folder ``folder``."""
        stripped = [
            replace(n, name=replace(n.name, tokens=())) for n in self.names
        ]  # the tokens are stored once, by id
        arrays = dict(self.arrays)
        arrays["tok_blob"], arrays["tok_off"] = pack(list(self.tokens))
        arrays["name_blob"], arrays["name_off"] = pack(stripped)
        arrays["entry_blob"], arrays["entry_off"] = pack(list(self.entries))
        meta = {**self.meta, "entries": len(self.entries), "names": len(self.names)}
        IndexArrays(arrays, meta).save(folder, extra)

    @classmethod
    def load(cls, folder: Path) -> ScreenerData:
        """Map a saved folder (``save``); records are decoded when first used."""
        stored = IndexArrays.load(folder)
        a = stored.arrays
        tokens: Records[NameToken] = Records(blob=a["tok_blob"], off=a["tok_off"])
        off, ids = a["name_tok_off"], a["name_tok"]

        def finish(i: int, value: IndexedName) -> IndexedName:
            toks = tuple(tokens[int(t)] for t in ids[int(off[i]) : int(off[i + 1])])
            value.name = replace(value.name, tokens=toks)
            return value

        names: Records[IndexedName] = Records(blob=a["name_blob"], off=a["name_off"], finish=finish)
        entries: Records[Entry] = Records(blob=a["entry_blob"], off=a["entry_off"])
        index = NameIndex.from_arrays(a, stored.keys())
        data = cls(entries, names, tokens, index, a, stored.meta)
        data.folder = folder
        return data

    def token_ids(self, name_id: int) -> np.ndarray:
        """The distinct-token ids of one name, in the name's order."""
        return self.name_tok[int(self.name_tok_off[name_id]) : int(self.name_tok_off[name_id + 1])]

    def weight(self, token: NameToken) -> float:
        """A token's effective weight (rarity in these lists, initials and patronymics less)."""
        w = self.weights.get(token.raw)
        if w is None:
            w = self.weights[token.raw] = effective_weight(token, self.index.token_weight(token))
        return w
