"""Core records shared by every layer: entities, names and crypto addresses.

Entities follow the FollowTheMoney (FtM) model: a schema name and a multi-valued property
map using FtM property names (``birthDate``, ``nationality``, ``idNumber``, ``innCode`` …).
Names and crypto addresses are kept as typed records beside the properties because screening
needs their kind, script and validity; ``Entity.to_ftm`` folds them back into FtM JSON.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class NameKind(StrEnum):
    """How a list presents a name."""

    PRIMARY = "primary"
    ALIAS = "alias"  # strong a.k.a.
    WEAK_ALIAS = "weak_alias"  # OFAC/UN "low quality" aliases, nicknames
    FORMER = "former"  # f.k.a.


# FtM property each name kind is written to.
FTM_NAME_PROPERTY: dict[NameKind, str] = {
    NameKind.PRIMARY: "name",
    NameKind.ALIAS: "alias",
    NameKind.WEAK_ALIAS: "weakAlias",
    NameKind.FORMER: "previousName",
}
NAME_KIND_OF_PROPERTY = {v: k for k, v in FTM_NAME_PROPERTY.items()}

_SCRIPT_PREFIXES = (
    ("LATIN", "Latin"),
    ("CYRILLIC", "Cyrillic"),
    ("HIRAGANA", "Hiragana"),
    ("KATAKANA", "Katakana"),
    ("HALFWIDTH KATAKANA", "Katakana"),
    ("CJK", "Han"),
    ("GREEK", "Greek"),
    ("ARABIC", "Arabic"),
    ("HEBREW", "Hebrew"),
    ("HANGUL", "Hangul"),
    ("THAI", "Thai"),
    ("GEORGIAN", "Georgian"),
    ("ARMENIAN", "Armenian"),
    ("DEVANAGARI", "Devanagari"),
)


def char_script(ch: str) -> str | None:
    """Script of one letter, from its Unicode name; None for digits, spaces and marks."""
    if not ch.isalpha():
        return None
    uname = unicodedata.name(ch, "")
    for prefix, script in _SCRIPT_PREFIXES:
        if uname.startswith(prefix):
            return script
    return "Other"


def detect_script(text: str) -> str:
    """The dominant script of ``text``; kana and kanji mixed count as ``Japanese``."""
    counts: dict[str, int] = {}
    for ch in text:
        script = char_script(ch)
        if script:
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return "Common"
    if ("Hiragana" in counts or "Katakana" in counts) and "Han" in counts:
        return "Japanese"
    return max(counts.items(), key=lambda kv: kv[1])[0]


@dataclass(slots=True)
class Name:
    """One name of an entity, as the list writes it."""

    value: str
    kind: NameKind = NameKind.PRIMARY
    script: str = ""
    lang: str | None = None

    def __post_init__(self) -> None:
        self.value = " ".join(self.value.split())
        if not self.script:
            self.script = detect_script(self.value)


@dataclass(slots=True)
class CryptoAddress:
    """A digital-currency address named by a list, validated for its asset's chain.

    ``address`` is the canonical form (what screening compares); ``raw`` is what the list
    printed. An address that fails validation is kept with ``valid=False`` and the reason.
    """

    asset: str
    chain: str
    address: str
    raw: str
    valid: bool = True
    reason: str | None = None


@dataclass(slots=True)
class Entity:
    """A listed person, company, vessel, relation … in FtM terms."""

    id: str
    schema: str
    source: str
    source_id: str
    names: list[Name] = field(default_factory=list)
    properties: dict[str, list[str]] = field(default_factory=dict)
    crypto: list[CryptoAddress] = field(default_factory=list)

    def add(self, prop: str, *values: str | None) -> None:
        """Append non-empty, not yet present values to a property."""
        bucket = self.properties.setdefault(prop, [])
        for value in values:
            if value is None:
                continue
            value = " ".join(str(value).split())
            if value and value not in bucket:
                bucket.append(value)
        if not bucket:
            del self.properties[prop]

    def add_name(
        self, value: str | None, kind: NameKind = NameKind.PRIMARY, lang: str | None = None
    ) -> None:
        """Add a name unless the same text of the same kind is already there."""
        if not value or not value.strip():
            return
        name = Name(value, kind, lang=lang)
        if not any(n.value == name.value and n.kind == name.kind for n in self.names):
            self.names.append(name)

    def get(self, prop: str) -> list[str]:
        return self.properties.get(prop, [])

    def first(self, prop: str) -> str | None:
        values = self.properties.get(prop)
        return values[0] if values else None

    @property
    def caption(self) -> str:
        for name in self.names:
            if name.kind == NameKind.PRIMARY:
                return name.value
        return self.names[0].value if self.names else self.id

    def to_ftm(self) -> dict:
        """The entity as one FtM JSON object (crypto addresses under ``cryptoWallets``)."""
        props: dict[str, list[str]] = {k: list(v) for k, v in self.properties.items()}
        for name in self.names:
            bucket = props.setdefault(FTM_NAME_PROPERTY[name.kind], [])
            if name.value not in bucket:
                bucket.append(name.value)
        data: dict = {
            "id": self.id,
            "schema": self.schema,
            "caption": self.caption,
            "datasets": [self.source],
            "properties": props,
        }
        if self.crypto:
            data["cryptoWallets"] = [
                {
                    "currency": c.asset,
                    "chain": c.chain,
                    "publicKey": c.address,
                    "raw": c.raw,
                    "valid": c.valid,
                    **({"reason": c.reason} if c.reason else {}),
                }
                for c in self.crypto
            ]
        return data

    @classmethod
    def from_ftm(cls, data: dict, source: str | None = None) -> Entity:
        """An entity from FtM JSON (as ``to_ftm`` writes it, or as OpenSanctions exports it)."""
        datasets = data.get("datasets") or []
        source = source or (datasets[0] if datasets else "ftm")
        ent_id = str(data["id"])
        prefix = f"{source}:"
        entity = cls(
            id=ent_id,
            schema=str(data["schema"]),
            source=source,
            source_id=ent_id[len(prefix) :] if ent_id.startswith(prefix) else ent_id,
        )
        for prop, values in (data.get("properties") or {}).items():
            if not isinstance(values, list):
                values = [values]
            texts = [v if isinstance(v, str) else json.dumps(v) for v in values if v is not None]
            kind = NAME_KIND_OF_PROPERTY.get(prop)
            if kind is not None:
                for value in texts:
                    entity.add_name(value, kind)
            else:
                entity.add(prop, *texts)
        for wallet in data.get("cryptoWallets") or []:
            entity.crypto.append(
                CryptoAddress(
                    asset=wallet.get("currency", ""),
                    chain=wallet.get("chain", ""),
                    address=wallet.get("publicKey", ""),
                    raw=wallet.get("raw", wallet.get("publicKey", "")),
                    valid=bool(wallet.get("valid", True)),
                    reason=wallet.get("reason"),
                )
            )
        return entity

    def fingerprint(self) -> str:
        """A stable hash of the content, for deltas between snapshots."""
        return fingerprint_of(self.to_ftm())

    def comparable(self) -> dict[str, list[str]]:
        """Field name to sorted values: the view that deltas compare."""
        return comparable(self.to_ftm())


def canonical_json(data: object) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def comparable(ftm: dict) -> dict[str, list[str]]:
    """The comparable view of one FtM JSON object (as ``Entity.to_ftm`` writes it)."""
    view: dict[str, list[str]] = {"schema": [ftm["schema"]]}
    for prop, values in ftm.get("properties", {}).items():
        view[prop] = sorted(set(values))
    wallets = ftm.get("cryptoWallets") or []
    if wallets:
        view["cryptoWallets"] = sorted({f"{w['currency']}:{w['publicKey']}" for w in wallets})
    return view


def fingerprint_of(ftm: dict) -> str:
    """SHA-256 of the comparable view: equal for entities a delta would call unchanged."""
    return hashlib.sha256(canonical_json(comparable(ftm)).encode()).hexdigest()


def changed_fields(old: dict[str, list[str]], new: dict[str, list[str]]) -> list[str]:
    """Names of the fields whose values differ between two ``Entity.comparable`` views."""
    keys: Iterable[str] = set(old) | set(new)
    return sorted(k for k in keys if old.get(k) != new.get(k))


@dataclass(slots=True)
class NameQuery:
    """What is screened: a name with optional secondary evidence."""

    name: str
    schema: str | None = None  # Person, Company, Organization, LegalEntity, Vessel …
    birth_date: str | None = None  # ISO, full or partial
    country: str | None = None  # nationality or country, ISO code or name
    name_kana: str | None = None  # the katakana reading an exchange holds
    identifiers: tuple[str, ...] = ()
    id: str | None = None


# The columns of a matches file, one row per match (``screen names``, the Spark job).
MATCH_CSV_COLUMNS = (
    "query_id",
    "rank",
    "score",
    "entity_id",
    "source",
    "source_id",
    "entity_name",
    "matched_name",
    "schema",
    "explanation",
)


@dataclass(slots=True)
class Match:
    """A list entity that a query matched, with the score and why."""

    entity_id: str
    source: str
    source_id: str
    schema: str
    entity_name: str  # the entity's caption
    matched_name: str  # the name of the entity that matched best
    query_name: str  # the query form that matched (name, reading, translation)
    score: float
    explanation: str
    features: dict[str, float] = field(default_factory=dict)
    snapshot_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The match as JSON evidence (every field; the score to four places)."""
        return {
            **asdict(self),
            "score": round(float(self.score), 4),
            "features": dict(self.features),
        }
