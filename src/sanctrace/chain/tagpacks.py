"""GraphSense TagPacks (YAML attribution tags) and ActorPacks → ``Tag`` records.

A TagPack is a YAML mapping of header fields (``title`` and ``creator`` mandatory) and
``tags``, a list of mappings. Every tag field may also sit in the header; tags inherit it unless
they set it themselves. Mandatory per tag (after inheritance): ``label``, ``source``,
``currency`` (or ``network``) and ``confidence``; ``address`` for the tags indexed here.

Mapping to ``Tag``:

* chain: ``network`` when present, else ``currency``, through ``tags.chain_of`` (BTC → btc,
  ETH → eth, BEP20 → bsc, USDT → the chain the address shape names …; unknown codes
  lower-cased, e.g. SOL → sol, not validated);
* address: canonical form of ``chain.addresses``; an invalid one is kept (``valid=False``)
  and reported;
* confidence: the level name mapped to 0–100 by ``schema/confidence.csv`` (GraphSense's
  levels are built in as ``tags.DEFAULT_CONFIDENCE``);
* category (the taxonomy concept), abuse, actor and ``is_cluster_definer`` as given;
  jurisdiction: the actor's ``jurisdictions`` in the ActorPack, comma-joined.

Files are parsed with PyYAML's safe loader (the C one when available). A file that cannot be
read at all (not YAML, no ``tags`` list) raises ``TagError`` naming the file and field; a bad
tag gives a ``TagProblem`` per tag (or one per file when it comes from the header) and is kept
when its address is usable, skipped otherwise.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sanctrace.chain.addresses import TOKEN_CHAINS, guess_chain
from sanctrace.chain.tags import (
    DEFAULT_CONFIDENCE,
    Tag,
    TagError,
    TagProblem,
    TagReadResult,
    canonical_address,
    chain_of,
    confidence_value,
    merge_problems,
)

INHERITED: tuple[str, ...] = (
    "label",
    "source",
    "currency",
    "network",
    "context",
    "confidence",
    "lastmod",
)
INHERITED += ("is_cluster_definer", "category", "abuse", "actor", "concepts", "tag_type")
TEXT_FIELDS: tuple[str, ...] = (
    "label",
    "source",
    "currency",
    "network",
    "category",
    "abuse",
    "actor",
)
TEXT_FIELDS += ("confidence", "tag_type")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    label: str
    jurisdictions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


def load_yaml(path: Path) -> object:
    """``yaml.safe_load`` of a file; TagError naming the file (and line) when it fails."""
    try:
        with open(path, "rb") as fh:
            return yaml.load(fh, Loader=_LOADER)  # a safe loader: plain data only
    except OSError as exc:
        raise TagError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TagError(f"{path}:{where} not valid YAML: {problem}") from None


def read_confidence_levels(path: Path | str) -> dict[str, int]:
    """``schema/confidence.csv`` (``id,label,description,level``) → {id: level}."""
    path = Path(path)
    levels: dict[str, int] = {}
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                try:
                    levels[row["id"].strip()] = int(str(row["level"]).strip())
                except (KeyError, AttributeError, ValueError):
                    message = f"line {reader.line_num}: field level: not a number"
                    raise TagError(f"{path}: {message}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TagError(f"{path}: cannot read: {exc}") from None
    return levels


def read_actors(path: Path | str, problems: list[TagProblem] | None = None) -> dict[str, Actor]:
    """The actors of an ActorPack by id; malformed actors are reported and skipped."""
    path = Path(path)
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("actors"), list):
        raise TagError(f"{path}: field actors: missing or not a list")
    actors: dict[str, Actor] = {}
    for n, item in enumerate(data["actors"], 1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            if problems is not None:
                problems.append(
                    TagProblem(str(path), "id", "actor without a text id", (f"actor {n}",))
                )
            continue
        actors[item["id"]] = Actor(
            item["id"],
            str(item.get("label") or item["id"]),
            _texts(item.get("jurisdictions")),
            _texts(item.get("categories")),
        )
    return actors


def _texts(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def read_tagpack(
    path: Path | str,
    levels: Mapping[str, int] | None = None,
    actors: Mapping[str, Actor] | None = None,
) -> TagReadResult:
    """The tags of one TagPack file (see the module docstring)."""
    path = Path(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise TagError(f"{path}: expected a mapping at the top level, got {_kind(data)}")
    if "tags" not in data:
        raise TagError(f"{path}: field tags: missing mandatory field")
    if not isinstance(data["tags"], list):
        raise TagError(f"{path}: field tags: expected a list, got {_kind(data['tags'])}")
    levels = DEFAULT_CONFIDENCE if levels is None else levels
    result = TagReadResult()
    for name in ("title", "creator"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            result.problems.append(TagProblem(str(path), name, "missing mandatory header field"))
    header = {k: data[k] for k in INHERITED if k in data}
    title = data["title"] if isinstance(data.get("title"), str) else ""
    for n, item in enumerate(data["tags"], 1):
        result.entries += 1
        _read_tag(path, n, header, item, title, levels, actors, result)
    result.problems = merge_problems(result.problems)
    return result


def read_tagpack_folder(root: Path | str) -> TagReadResult:
    """Every TagPack under ``root/packs`` (or ``root``), with ``root/schema/confidence.csv``
    and the ActorPacks of ``root/actors``. An unreadable file is one skipped problem."""
    root = Path(root)
    result = TagReadResult()
    levels = dict(DEFAULT_CONFIDENCE)
    if (root / "schema" / "confidence.csv").is_file():
        levels = read_confidence_levels(root / "schema" / "confidence.csv")
    actors: dict[str, Actor] = {}
    for path in sorted((root / "actors").glob("*.yaml")) if (root / "actors").is_dir() else []:
        actors.update(read_actors(path, result.problems))
    packs = root / "packs" if (root / "packs").is_dir() else root
    for path in sorted(packs.rglob("*.yaml")):
        if packs == root and path.parent.name in ("actors", "schema"):
            continue
        try:
            result.extend(read_tagpack(path, levels, actors or None))
        except TagError as exc:
            result.problems.append(TagProblem(str(path), "file", str(exc), skipped=True))
    return result


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def _read_tag(
    path: Path,
    n: int,
    header: dict[str, Any],  # YAML values
    item: object,
    title: str,
    levels: Mapping[str, int],
    actors: Mapping[str, Actor] | None,
    result: TagReadResult,
) -> None:
    file, where = str(path), (f"tag {n}",)

    def warn(field: str, message: str, address: str | None = None, skipped: bool = False) -> None:
        result.problems.append(TagProblem(file, field, message, where, address, skipped))

    if not isinstance(item, dict):
        warn("tag", f"expected a mapping, got {_kind(item)}", skipped=True)
        return
    tag = {**header, **item}
    raw = tag.get("address")
    if raw is None:
        message = "a tx_hash tag, not indexed" if "tx_hash" in tag else "missing mandatory field"
        warn("address", message, skipped=True)
        return
    if not isinstance(raw, str) or not raw.strip():
        got = "empty text" if isinstance(raw, str) else f"{_kind(raw)} (quote it in the YAML)"
        warn("address", f"expected an address, got {got}", skipped=True)
        return
    for name in TEXT_FIELDS:
        value = tag.get(name)
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            tag[name] = str(value)
        else:
            warn(name, f"expected text, got {_kind(value)}; ignored")
            inherited = header.get(name)
            tag[name] = inherited if isinstance(inherited, str) else None
    code = tag.get("network") or tag.get("currency")
    if code:
        chain = chain_of(code, raw)
    else:
        chain = guess_chain(raw) or ""
        if not chain:
            warn("currency", "missing mandatory field and the address names no chain", raw, True)
            return
        warn("currency", "missing mandatory field; chain taken from the address shape")
    address, chain, valid, reason = canonical_address(chain, raw)
    if valid is False:
        token_chains = TOKEN_CHAINS.get(str(code).strip().upper(), ())
        if token_chains and guess_chain(raw) not in token_chains:
            reason = f"no {code} address on {'/'.join(token_chains)} ({reason})"
        warn("address", f"invalid {chain} address: {reason}; kept", raw)
    label = tag.get("label")
    if not label:
        warn("label", "missing mandatory field; the pack title is used")
        label = title
    source = tag.get("source")
    if not source:
        warn("source", "missing mandatory field; the file name is used")
        source = path.name
    confidence = None
    if tag.get("confidence") is None:
        warn("confidence", "missing mandatory field")
    else:
        try:
            confidence = confidence_value(tag["confidence"], levels)
        except ValueError as exc:
            warn("confidence", str(exc))
    definer = tag.get("is_cluster_definer", False)
    if not isinstance(definer, bool):
        warn("is_cluster_definer", f"expected true or false, got {_kind(definer)}; false used")
        definer = False
    actor = tag.get("actor") or None
    jurisdiction = None
    if actor and actors is not None:
        if actor in actors:
            jurisdiction = ",".join(actors[actor].jurisdictions) or None
        else:
            warn("actor", f"{actor!r} is not in the ActorPack")
    result.tags.append(
        Tag(
            address=address,
            chain=chain,
            label=label,
            category=tag.get("category") or None,
            actor=actor,
            source=source,
            confidence=confidence,
            jurisdiction=jurisdiction,
            abuse=tag.get("abuse") or None,
            cluster_definer=definer,
            valid=valid,
            reason=reason,
            raw=raw,
            origin=f"{path.name}:tag {n}",
        )
    )
