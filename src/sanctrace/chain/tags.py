"""Attribution tags: who controls an address, from sanctions lists, GraphSense TagPacks and CSV.

Sources (every one yields ``Tag`` records with canonical addresses, see ``chain.addresses``):

* list snapshots — ``tags_from_snapshot_rows``: rows ``(entity_id, caption, asset, chain,
  address, source, snapshot_id)`` of the store's crypto-address table become tags of category
  ``sanctioned``, confidence 100 (the authority's own list), jurisdiction from the source id
  (``us_ofac_sdn`` → ``US``, ``un_…`` → ``UN``);
* GraphSense TagPacks — ``chain.tagpacks.read_tagpack`` / ``read_tagpack_folder``;
* users' CSV files — ``read_tag_csv``: a header row, then one tag per row, columns
  ``address,chain,label,category,actor,source,confidence,jurisdiction`` in any order.
  ``address``, ``chain`` and ``label`` are required; ``chain`` is a chain id (``btc``) or a
  currency code (``BTC``, ``XBT``, ``USDT``); ``confidence`` is 0–100 or a GraphSense confidence
  level name (``authority_data``); empty cells mean unknown; ``source`` defaults to the file
  name. Other columns are ignored.

An address that fails validation is kept (``valid=False``, ``reason``) and reported; chains
without a validator here (Solana, EOS …) give ``valid=None``.

``fold`` is the lookup key of an address (a cheap case fold: EVM hex and bech32 are
case-insensitive); ``ClusterPath`` says how an address comes to carry a tag, through the chain of
co-spends that links it to the tagged address.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sanctrace.chain.addresses import (
    ASSET_CHAINS,
    CHAIN_ASSETS,
    TOKEN_CHAINS,
    guess_chain,
    normalise,
    parse_address,
)
from sanctrace.errors import SanctraceError

if TYPE_CHECKING:
    from sanctrace.chain.cluster import Hop

# GraphSense's confidence levels (schema/confidence.csv): name → 0–100.
DEFAULT_CONFIDENCE: dict[str, int] = {
    "override": 100,
    "ownership": 100,
    "ledger_immanent": 100,
    "manual_transaction": 90,
    "service_api": 70,
    "forensic_investigation": 70,
    "authority_data": 60,
    "trusted_provider": 50,
    "service_data": 50,
    "forensic": 50,
    "untrusted_transaction": 40,
    "web_crawl": 20,
    "heuristic": 10,
    "unknown": 5,
}

# Currency / network codes GraphSense uses beyond the OFAC asset codes of ASSET_CHAINS.
EXTRA_CURRENCY_CHAINS: dict[str, str] = {
    "BEP20": "bsc",
    "BEP2": "bnb",  # Binance Chain (bnb1…), no validator here
    "RIPPLE": "xrp",
    "OMNI": "btc",  # Omni-layer tokens live on Bitcoin addresses
    "POLYGON": "matic",
    "TRON": "trx",
}
SANCTIONED = "sanctioned"
_FOLD_PREFIXES = ("0x", "bc1", "tb1", "bcrt1", "ltc1", "tltc1", "btg1", "zs1", "u1")


class TagError(SanctraceError):
    """A tag file cannot be read at all; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Tag:
    """One attribution: ``address`` on ``chain`` is controlled by ``label`` / ``actor``."""

    address: str  # canonical form on ``chain``
    chain: str
    label: str
    category: str | None
    actor: str | None
    source: str
    confidence: int | None  # 0–100
    jurisdiction: str | None
    entity_id: str | None = None
    snapshot_id: int | None = None
    abuse: str | None = None
    cluster_definer: bool = False
    valid: bool | None = True  # None: no validator for this chain
    reason: str | None = None
    raw: str = ""  # the address as the source wrote it
    origin: str = ""  # file and tag number, CSV line, or snapshot


@dataclass(frozen=True, slots=True)
class TagProblem:
    """A warning about tags that were read (kept) or skipped, naming file, tags and field."""

    file: str
    field: str
    message: str
    where: tuple[str, ...] = ()  # "tag 12", "line 7" …
    address: str | None = None
    skipped: bool = False

    def __str__(self) -> str:
        where = ""
        if self.where:
            shown = ", ".join(self.where[:3]) + (" …" if len(self.where) > 3 else "")
            where = f" {shown}" + (f" ({len(self.where)})" if len(self.where) > 3 else "")
        addr = f" {self.address!r}" if self.address else ""
        action = "; skipped" if self.skipped else ""
        return f"{self.file}:{where} {self.field}:{addr} {self.message}{action}"


@dataclass
class TagReadResult:
    tags: list[Tag] = field(default_factory=list)
    problems: list[TagProblem] = field(default_factory=list)
    entries: int = 0  # address entries seen (tags + skipped)

    def extend(self, other: TagReadResult) -> None:
        self.tags.extend(other.tags)
        self.problems.extend(other.problems)
        self.entries += other.entries


def merge_problems(problems: Iterable[TagProblem]) -> list[TagProblem]:
    """One problem per (file, field, message, skipped) for problems not about one address."""
    merged: dict[tuple[str, str, str, bool], list[str]] = {}
    out: list[TagProblem] = []
    for p in problems:
        if p.address is not None:
            out.append(p)
            continue
        merged.setdefault((p.file, p.field, p.message, p.skipped), []).extend(p.where)
    for (file, fld, message, skipped), where in merged.items():
        out.append(TagProblem(file, fld, message, tuple(where), None, skipped))
    return out


# ----------------------------------------------------------------------- chains and addresses


def chain_of(code: str, address: str = "") -> str:
    """Our chain id for a currency / network / chain code; tokens issued on several chains
    (USDT, USDC) take the chain the address shape names. Unknown codes are lower-cased."""
    key = code.strip().upper()
    if key in TOKEN_CHAINS:
        guessed = guess_chain(address)
        return guessed if guessed in TOKEN_CHAINS[key] else TOKEN_CHAINS[key][0]
    return ASSET_CHAINS.get(key) or EXTRA_CURRENCY_CHAINS.get(key) or key.lower()


def canonical_address(chain: str, raw: str) -> tuple[str, str, bool | None, str | None]:
    """(canonical address, chain, valid, reason). A well-formed address of another chain keeps
    that chain (``parse_address``); chains without a validator give ``valid=None``."""
    asset = CHAIN_ASSETS.get(chain)
    if asset is None:
        return normalise(chain, raw), chain, None, None
    parsed = parse_address(asset, raw)
    return parsed.address, parsed.chain or chain, parsed.valid, parsed.reason


def jurisdiction_of(source: str) -> str | None:
    """``us_ofac_sdn`` → ``US``: the country (or UN / EU) prefix of a list source id."""
    head = source.split("_", 1)[0]
    return head.upper() if len(head) == 2 and head.isalpha() else None


def fold(address: str) -> str:
    """Index key: trimmed, lower-cased where the format ignores case."""
    text = address.strip()
    lower = text.lower()
    if lower.startswith(_FOLD_PREFIXES):
        return lower
    if lower.startswith("bitcoincash:"):
        return lower[12:]
    return text


# ------------------------------------------------------------------------- list snapshots


_ROW_FIELDS = ("entity_id", "caption", "asset", "chain", "address", "source", "snapshot_id")


def _snapshot_id(value: object) -> int | None:
    """A row's snapshot id: databases give an int (or None); text is parsed."""
    if value is None or isinstance(value, int):
        return value
    return int(str(value))


def tags_from_snapshot_rows(
    rows: Iterable[Sequence[object] | Mapping[str, object]], jurisdiction: str | None = None
) -> list[Tag]:
    """Tags of category ``sanctioned`` from list-snapshot address rows (module docstring)."""
    tags = []
    for row in rows:
        if isinstance(row, Mapping):
            values = [row.get(k) for k in _ROW_FIELDS]
        else:
            values = list(row)
        entity_id, caption, asset_cell, chain_cell, raw_cell, source_cell, snapshot_cell = values
        raw = str(raw_cell or "")
        asset = str(asset_cell or "")
        valid: bool | None
        if asset:
            parsed = parse_address(asset, raw)
            chain = str(chain_cell or "") or parsed.chain
            valid, reason = parsed.valid, parsed.reason
        else:
            chain = str(chain_cell or "") or guess_chain(raw) or ""
            _, chain, valid, reason = canonical_address(chain, raw)
        source = str(source_cell or "")
        snapshot_id = _snapshot_id(snapshot_cell)
        tags.append(
            Tag(
                address=normalise(chain, raw),
                chain=chain,
                label=str(caption or entity_id or ""),
                category=SANCTIONED,
                actor=None,
                source=source,
                confidence=100,
                jurisdiction=jurisdiction or jurisdiction_of(source),
                entity_id=None if entity_id is None else str(entity_id),
                snapshot_id=snapshot_id,
                valid=valid,
                reason=reason,
                raw=raw,
                origin=f"snapshot {snapshot_id}" if snapshot_id is not None else "snapshot",
            )
        )
    return tags


# ------------------------------------------------------------------------------------ CSV

CSV_COLUMNS = (
    "address",
    "chain",
    "label",
    "category",
    "actor",
    "source",
    "confidence",
    "jurisdiction",
)


def confidence_value(value: object, levels: Mapping[str, int]) -> int | None:
    """0–100 from a number or a level name; ValueError when it is neither."""
    if isinstance(value, bool):
        raise ValueError(f"not a confidence: {value!r}")
    if isinstance(value, int | float):
        number = value
    else:
        text = str(value).strip()
        if text in levels:
            return levels[text]
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"unknown confidence {text!r}") from None
    if not 0 <= number <= 100:
        raise ValueError(f"confidence {number} outside 0–100")
    return round(number)


def read_tag_csv(path: Path | str, levels: Mapping[str, int] | None = None) -> TagReadResult:
    """Tags from a user's CSV file (layout in the module docstring)."""
    path = Path(path)
    levels = DEFAULT_CONFIDENCE if levels is None else levels
    result = TagReadResult()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            missing = [c for c in ("address", "chain", "label") if c not in header]
            if missing:
                raise TagError(f"{path}: header: missing column {', '.join(missing)}")
            reader.fieldnames = header
            for row in reader:
                _csv_row(path, reader.line_num, row, levels, result)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TagError(f"{path}: cannot read: {exc}") from None
    return result


def _csv_row(
    path: Path,
    line: int,
    row: Mapping[str, object],
    levels: Mapping[str, int],
    result: TagReadResult,
) -> None:
    def cell(name: str) -> str | None:
        value = row.get(name)
        return value.strip() or None if isinstance(value, str) else None

    where = (f"line {line}",)
    raw = cell("address")
    result.entries += 1
    if raw is None:
        result.problems.append(TagProblem(str(path), "address", "empty", where, skipped=True))
        return
    code = cell("chain")
    if code is None:
        code = guess_chain(raw)
        if code is None:
            message = "empty, and the address names no chain"
            result.problems.append(TagProblem(str(path), "chain", message, where, raw, True))
            return
    address, chain, valid, reason = canonical_address(chain_of(code, raw), raw)
    if valid is False:
        result.problems.append(TagProblem(str(path), "address", f"invalid: {reason}", where, raw))
    confidence = None
    if cell("confidence") is not None:
        try:
            confidence = confidence_value(cell("confidence"), levels)
        except ValueError as exc:
            result.problems.append(TagProblem(str(path), "confidence", str(exc), where))
    result.tags.append(
        Tag(
            address=address,
            chain=chain,
            label=cell("label") or "",
            category=cell("category"),
            actor=cell("actor"),
            source=cell("source") or path.name,
            confidence=confidence,
            jurisdiction=cell("jurisdiction"),
            valid=valid,
            reason=reason,
            raw=raw,
            origin=f"{path.name}:{line}",
        )
    )


# ------------------------------------------------------------------------------ cluster paths


@dataclass(frozen=True, slots=True)
class ClusterPath:
    """How ``address`` comes to carry a tag of ``tagged_address`` (no hops: its own tag)."""

    address: str
    cluster_id: int | None
    tagged_address: str
    hops: tuple[Hop, ...] = ()

    def describe(self, tag: Tag) -> str:
        what = f"tagged {tag.label!r}" + (f" [{tag.category}]" if tag.category else "")
        what += f" by {tag.source}" if tag.source else ""
        if not self.hops:
            return f"address {self.address} is {what}"
        via = ", then ".join(f"tx {h.txid} ({h.a} with {h.b})" for h in self.hops)
        return (
            f"address {self.address} is in cluster {self.cluster_id} with "
            f"{self.tagged_address} via {via}, which is {what}"
        )
