"""What the exposure engines treat as flagged (taint sources) and as stop entities.

A ``FlagSet`` maps canonical addresses to ``Flag`` records. *Flagged* addresses are the taint
sources (by default: the ``sanctioned`` tags of the list snapshots and tag packs); *stops* are
addresses whose outputs are reported when taint reaches them but do not pass it on (by default:
``exchange`` tags, i.e. other exchanges). An address that is both flagged and a stop is a
source. ``Flag.entity`` (else ``Flag.label``) groups the per-entity breakdown of an exposure.

``FlagSet.from_file`` reads a user's file: one address per line (``#`` comments and blank lines
ignored), or a CSV file whose header row names an ``address`` column and optionally
``category`` (default ``sanctioned``), ``entity`` and ``label`` (default: the file name).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sanctrace.chain.addresses import guess_chain, parse_any
from sanctrace.chain.tags import SANCTIONED, Tag
from sanctrace.errors import SanctraceError

_MAX_ADDRESS = 128


class FlagFileError(SanctraceError):
    """A flagged-address file cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Flag:
    """Why an address is flagged (or a stop): category, entity and a human label."""

    category: str  # e.g. "sanctioned", "exchange", "mixer"
    entity: str | None  # entity id (list entity id, tag actor): groups the per-entity breakdown
    label: str  # human label, e.g. "Garantex (OFAC SDN)"
    source: str = ""  # "snapshot 3", "tagpack graphsense", "file flagged.txt"

    @property
    def group(self) -> str:
        """The per-entity grouping key: the entity id, else the label."""
        return self.entity or self.label


def _merge(target: dict[str, list[Flag]], address: str, flag: Flag) -> None:
    flags = target.setdefault(address, [])
    if flag not in flags:
        flags.append(flag)


class FlagSet:
    """Flagged addresses (taint sources) and stop addresses, each with its flags."""

    def __init__(
        self,
        flagged: Mapping[str, list[Flag]] | None = None,
        stops: Mapping[str, list[Flag]] | None = None,
    ) -> None:
        self.flagged: dict[str, list[Flag]] = {}
        self.stops: dict[str, list[Flag]] = {}
        for address, flags in (flagged or {}).items():
            for flag in flags:
                _merge(self.flagged, address, flag)
        for address, flags in (stops or {}).items():
            for flag in flags:
                _merge(self.stops, address, flag)

    def __len__(self) -> int:
        """The number of flagged addresses (stops not counted)."""
        return len(self.flagged)

    def __repr__(self) -> str:
        return f"FlagSet({len(self.flagged)} flagged, {len(self.stops)} stops)"

    @classmethod
    def from_tags(
        cls,
        tags: Iterable[Tag],
        categories: Collection[str] = (SANCTIONED,),
        stop_categories: Collection[str] = ("exchange",),
    ) -> FlagSet:
        """Flags from attribution tags: ``categories`` flag, ``stop_categories`` stop."""
        flagged: dict[str, list[Flag]] = {}
        stops: dict[str, list[Flag]] = {}
        for tag in tags:
            if tag.category is None:
                continue
            source = f"snapshot {tag.snapshot_id}" if tag.snapshot_id is not None else tag.source
            flag = Flag(tag.category, tag.entity_id or tag.actor, tag.label, source)
            if tag.category in categories:
                _merge(flagged, tag.address, flag)
            if tag.category in stop_categories:
                _merge(stops, tag.address, flag)
        return cls(flagged, stops)

    @classmethod
    def from_file(cls, path: Path | str) -> FlagSet:
        """Flagged addresses from a plain list or a CSV file (see the module docstring)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise FlagFileError(f"{path}: cannot read: {exc}") from None
        lines = text.splitlines()
        first = next(
            (i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), None
        )
        flagged: dict[str, list[Flag]] = {}
        source = f"file {path.name}"
        if first is not None and "address" in _fields(lines[first]):
            _read_csv(path, lines, first, source, flagged)
        else:
            for number, line in enumerate(lines, 1):
                text = line.split("#", 1)[0].strip()
                if text:
                    address = _address(path, number, text)
                    _merge(flagged, address, Flag(SANCTIONED, None, path.name, source))
        return cls(flagged)


Group = tuple[str, str]  # (entity key, category)


class FlagIndex:
    """The breakdown groups of flagged units (address or cluster ids): per (entity, category)
    and per category, every unit that carries such a flag."""

    def __init__(self, unit_flags: Mapping[int, list[Flag]]) -> None:
        self._keys: dict[int, set[Group]] = {}
        self._members: dict[Group, tuple[str, set[int]]] = {}
        self._categories: dict[str, set[int]] = {}
        for unit, flags in unit_flags.items():
            for flag in flags:
                key = (flag.group, flag.category)
                self._keys.setdefault(unit, set()).add(key)
                self._members.setdefault(key, (flag.label, set()))[1].add(unit)
                self._categories.setdefault(flag.category, set()).add(unit)

    def groups(
        self, seen: Iterable[int]
    ) -> tuple[dict[Group, tuple[str, set[int]]], dict[str, set[int]]]:
        """The groups of the units ``seen`` (label and all member units), and their
        categories (all member units)."""
        keys = {key for unit in seen for key in self._keys.get(unit, ())}
        groups = {key: self._members[key] for key in keys}
        return groups, {category: self._categories[category] for _, category in keys}


def _fields(line: str) -> list[str]:
    return [f.strip().lower() for f in next(csv.reader([line]), [])]


def _read_csv(
    path: Path, lines: list[str], first: int, source: str, flagged: dict[str, list[Flag]]
) -> None:
    header = _fields(lines[first])
    rows = csv.reader(io.StringIO("\n".join(lines[first + 1 :])))
    for offset, row in enumerate(rows):
        number = first + 2 + offset
        if not row or all(not cell.strip() for cell in row) or row[0].startswith("#"):
            continue
        if len(row) > len(header):
            raise FlagFileError(
                f"{path}:{number}: {len(row)} fields, the header names {len(header)}"
            )
        values = {name: cell.strip() for name, cell in zip(header, row, strict=False)}
        raw = values.get("address", "")
        if not raw:
            raise FlagFileError(f"{path}:{number}: field address: empty")
        address = _address(path, number, raw)
        category = values.get("category") or SANCTIONED
        label = values.get("label") or values.get("entity") or path.name
        flag = Flag(category, values.get("entity") or None, label, source)
        _merge(flagged, address, flag)


def _address(path: Path, number: int, text: str) -> str:
    """The canonical form of one address read from ``path`` line ``number``."""
    if len(text) > _MAX_ADDRESS or any(c.isspace() or c in ",;\"'" for c in text):
        raise FlagFileError(f"{path}:{number}: not one address: {text[:40]!r}")
    if not text.isascii() or not text.isprintable():
        raise FlagFileError(f"{path}:{number}: address has non-printable or non-ASCII characters")
    if guess_chain(text) is None:
        return text  # a chain without a validator here: kept as written
    parsed = parse_any(text)
    if not parsed.valid:
        raise FlagFileError(f"{path}:{number}: invalid address {text}: {parsed.reason}")
    return parsed.address
