"""Screening corporate customers: KYB records in, ownership verdicts with explanations out.

The ownership graph joins the exchange's KYB records (``network.kyb``) with the parties and
relations of the active list snapshots. Every KYB party (the customer companies, their
shareholders, UBOs and directors) is screened by name:

* a match at or above the screener's threshold for the matched entity's schema, to a listed
  entity, makes the KYB party *listed* (the reason names the entity, source, snapshot and score);
* a match in ``[possible_floor, threshold)`` to a listed entity makes it *possibly listed*: it
  counts toward the upper bound of the 50% rule only. A name that matches well but whose birth
  date or country conflicts with the list entry lands here, because the scorer subtracts that
  evidence from the score;
* a match at or above the threshold to a list party that is not listed itself (an unsanctioned
  company in an OpenSanctions-style file) links the two: the list party is recorded as holding
  100% of the KYB company ("same entity"), so ownership chains that continue on the list side
  are followed.

Which list parties count as listed, and the cached list side, are in ``_company_lists``. Then
``network.rule.assess`` gives the verdicts and ``network.signals.shell_signals`` the
shell-company indicators. See docs/companies.md.

``CompanyService.check`` takes a ``CompanyRequest`` (KYB files, FtM records or company
objects) and answers a ``CompanyCheck``; ``to_dict`` is the JSON of the API and the CLI.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sanctrace.errors import BadRequest
from sanctrace.model import Match, NameQuery
from sanctrace.names import Screener
from sanctrace.names.screener import ID_PROPERTIES
from sanctrace.network.graph import Holding, Node, OwnershipGraph, Problem, is_iso_date
from sanctrace.network.kyb import (
    PREFIX,
    KybCompany,
    KybParty,
    Record,
    input_id_of,
    kyb_companies,
    read_kyb,
    records_from_companies,
    records_from_dicts,
)
from sanctrace.network.name_evidence import certain_name_match, name_match_reason
from sanctrace.network.rule import Assessment, Verdict, assess
from sanctrace.network.shares import parse_share
from sanctrace.network.signals import Signal, shell_signals
from sanctrace.services._company_lists import ListSide, NoListsError, contact_keys
from sanctrace.services._snapshot_cache import SnapshotCache
from sanctrace.store import Database

__all__ = [
    "POSSIBLE_FLOOR",
    "BlockedShare",
    "CompanyCheck",
    "CompanyRequest",
    "CompanyResult",
    "CompanyService",
    "KybCompany",
    "KybParty",
    "ListSide",
    "NoListsError",
    "check_companies",
    "summary",
]

POSSIBLE_FLOOR = 0.6  # weaker matches down to this score make a party possibly listed
MAX_NAMES = 8  # names of one KYB party screened (first ones: the primary name comes first)
MATCHES_PER_NAME = 5
SAME_AS = "same entity as list record"
NAMED_PROBLEMS = 3  # problems quoted in the one-line "no company could be read" message


# ----------------------------------------------------------------------------- request


@dataclass(frozen=True)
class CompanyRequest:
    """What to check: exactly one of KYB files, FtM records or company objects.

    ``as_of`` (ISO date, default today) selects the holdings and links in force."""

    paths: tuple[Path, ...] = ()
    records: tuple[Mapping[str, Any], ...] = ()
    companies: tuple[KybCompany, ...] = ()
    as_of: str | None = None

    def __post_init__(self) -> None:
        given = [bool(self.paths), bool(self.records), bool(self.companies)]
        if sum(given) != 1:
            raise BadRequest("give exactly one of KYB files, FtM records or company objects")
        if self.as_of is not None and not is_iso_date(self.as_of):
            raise BadRequest(f"as_of: {self.as_of!r} is not an ISO date (YYYY-MM-DD)")

    @classmethod
    def files(cls, paths: Iterable[Path | str], as_of: str | None = None) -> CompanyRequest:
        """KYB files: FtM JSON lines or CSV, in any mix."""
        return cls(paths=tuple(Path(p) for p in paths), as_of=as_of)

    @property
    def source(self) -> str:
        """What messages name as the input: the files, or ``request``."""
        return ", ".join(str(p) for p in self.paths) if self.paths else "request"

    def read(self) -> tuple[list[Record], list[Problem]]:
        """The KYB records and the problems of single records."""
        if self.paths:
            return read_kyb(self.paths)
        if self.companies:
            return records_from_companies(self.companies)
        return records_from_dicts(self.records)


# ----------------------------------------------------------------------------- answer


@dataclass(frozen=True)
class BlockedShare:
    """The share held by blocked owners, lower and upper bound in percent."""

    low: float
    high: float


@dataclass
class CompanyResult:
    """The verdict on one customer company and what explains it (docs/companies.md).

    ``paths``, ``control_paths``, ``signals`` and ``matches`` are JSON objects, ids as the
    input wrote them."""

    entity_id: str
    name: str
    verdict: Verdict
    controlled: bool
    paths: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    eu_verdict: Verdict
    listed: bool
    blocked_share: BlockedShare
    control_paths: list[dict[str, Any]]
    matches: list[dict[str, Any]]
    snapshots: dict[str, int]

    @property
    def hit(self) -> bool:
        """Blocked or possibly blocked."""
        return self.verdict != "not_blocked"

    @property
    def flagged(self) -> bool:
        """Needs attention: blocked, possibly blocked or controlled."""
        return self.hit or self.controlled

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "name": self.name,
            "verdict": self.verdict,
            "controlled": self.controlled,
            "paths": self.paths,
            "signals": self.signals,
            "eu_verdict": self.eu_verdict,
            "listed": self.listed,
            "blocked_share": {"low": self.blocked_share.low, "high": self.blocked_share.high},
            "control_paths": self.control_paths,
            "matches": self.matches,
            "snapshots": dict(self.snapshots),
        }


@dataclass
class CompanyCheck:
    """One check: a result per company of the input, the input's problems, the lists used."""

    results: list[CompanyResult]
    problems: list[Problem] = field(default_factory=list)
    snapshots: dict[str, int] = field(default_factory=dict)

    @property
    def hit(self) -> bool:
        """Some company is blocked or possibly blocked."""
        return any(r.hit for r in self.results)

    @property
    def flagged(self) -> list[CompanyResult]:
        """Results that need attention: blocked, possibly blocked or controlled."""
        return [r for r in self.results if r.flagged]

    def to_dict(self) -> dict[str, Any]:
        """``{results, problems, snapshots}``: the answer of ``POST /v1/screen/company``."""
        return {
            "results": [r.to_dict() for r in self.results],
            "problems": [p.to_dict() | {"text": str(p)} for p in self.problems],
            "snapshots": self.snapshots,
        }


def summary(result: CompanyResult) -> str:
    """One line that says why a company got its verdict (CLI table, demo report)."""
    reasons = [
        f"{'matches' if p['effect'] == 'listed' else 'may match'} {p['entity_name']} "
        f"[{p['entity_id']}] ({p['score']:.2f})"
        for p in result.paths
        if p["kind"] == "match"
    ]
    low, high = result.blocked_share.low, result.blocked_share.high
    if result.hit and any(p["kind"] == "ownership" for p in result.paths):
        held = f"{low:g}%" if low == high else f"{low:g}–{high:g}%"
        reasons.append(f"{held} held by blocked owners")
    if result.controlled:
        reasons.append("controlled by a blocked party")
    if result.signals:
        reasons.append("signals: " + ", ".join(s["code"] for s in result.signals))
    return "; ".join(reasons) or "-"


# ----------------------------------------------------------------------------- the check


@dataclass
class _NodeMatch:
    """A KYB party's match to a list party, and what it made of the party."""

    node: str
    match: Match
    threshold: float
    effect: str  # "listed", "possibly_listed" or "linked"


def screen_party(
    screener: Screener, node: Node, floor: float = POSSIBLE_FLOOR
) -> list[tuple[Match, float]]:
    """Matches of a KYB party (every name, best per entity) at or above ``floor``, best first,
    each with the threshold that applies to it."""
    births = node.properties.get("birthDate")
    birth = births[0] if births else None
    ids = tuple(v for p in ID_PROPERTIES for v in node.properties.get(p, []))
    best: dict[str, Match] = {}
    for name in node.names[:MAX_NAMES]:
        query = NameQuery(
            name=name,
            schema=node.schema,
            birth_date=birth,
            country=node.country,
            identifiers=ids,
            id=node.id,
        )
        for m in screener.screen(query, top=MATCHES_PER_NAME, threshold=floor):
            if m.entity_id not in best or m.score > best[m.entity_id].score:
                best[m.entity_id] = m
    ranked = sorted(best.values(), key=lambda m: (-m.score, m.entity_id))
    return [(m, screener.threshold_for(m.schema)) for m in ranked]


def check_records(
    side: ListSide,
    records: list[Record],
    problems: Iterable[Problem] = (),
    possible_floor: float = POSSIBLE_FLOOR,
    as_of: str | None = None,
) -> CompanyCheck:
    """Verdicts for the customer companies of KYB ``records`` (as ``network.kyb`` writes them)."""
    problems = list(problems)
    graph = OwnershipGraph()
    graph.add_ftm(records, "kyb")
    kyb_nodes = list(graph.nodes.values())
    listed: dict[str, str] = {}
    possibly: dict[str, str] = {}
    designations: dict[str, str] = {}
    found: dict[str, list[_NodeMatch]] = defaultdict(list)
    for node in kyb_nodes:
        for m, threshold in screen_party(side.screener, node, possible_floor):
            effect = _effect(node, m, threshold, side, listed, possibly, designations)
            if effect:
                found[node.id].append(_NodeMatch(node.id, m, threshold, effect))
    # The list part: parties the KYB records point at, linked or sharing contacts, and above.
    seeds = [e for link in graph.holdings for e in (link.owner, link.asset)]
    seeds += [e for link in graph.controls for e in (link.controller, link.company)]
    seeds += [nm.match.entity_id for ms in found.values() for nm in ms if nm.effect == "linked"]
    for node in kyb_nodes:
        for key in contact_keys(graph, node.id):
            seeds.extend(sorted(side.contacts.get(key, ())))
    side.list_part(graph, seeds)
    for ms in found.values():
        for nm in ms:
            if nm.effect == "linked":
                graph.add_holding(_same_as(nm, side))
    graph.validate()
    # Problems of the KYB input only: a list's own defects (on list ids) are not the customer's.
    problems += [p for p in graph.problems if p.record is None or p.record.startswith(PREFIX)]
    for node_id in graph.nodes:
        if node_id in side.listed:
            listed.setdefault(node_id, side.listed[node_id])
        if node_id in side.designations:
            designations.setdefault(node_id, side.designations[node_id])
    ids = [c for c in kyb_companies(records) if c in graph.nodes]
    verdicts = assess(graph, listed, possibly, ids=ids, as_of=as_of)
    signals = shell_signals(graph, listed, designations, ids=ids, as_of=as_of)
    results = [
        _result(graph, verdicts[c], found, signals.get(c, []), side.snapshots)
        for c in ids
        if c in verdicts
    ]
    return CompanyCheck(results, problems, dict(side.snapshots))


def _effect(
    node: Node,
    m: Match,
    threshold: float,
    side: ListSide,
    listed: dict[str, str],
    possibly: dict[str, str],
    designations: dict[str, str],
) -> str | None:
    """What one match makes of a KYB party (None: nothing); records it in the maps."""
    entity_listed = side.listed.get(m.entity_id)
    if entity_listed is not None:
        reason = f"name match {m.score:.2f} with {entity_listed}"
        # A name alone, unless nearly exact, makes a party possibly listed, never listed.
        if certain_name_match(m.score, threshold, m.features):
            listed.setdefault(node.id, reason)
            possibly.pop(node.id, None)
            if m.entity_id in side.designations:
                designations.setdefault(node.id, side.designations[m.entity_id])
            return "listed"
        if node.id not in listed:
            why = name_match_reason(m.score, threshold, m.features)
            possibly.setdefault(node.id, f"{reason} ({why})")
            return "possibly_listed"
        return None
    if m.score >= threshold and node.is_company and m.entity_id in side.graph.nodes:
        return "linked"
    return None


def _same_as(nm: _NodeMatch, side: ListSide) -> Holding:
    """The link that lets a linked KYB company inherit its list namesake's owners."""
    m = nm.match
    source, snapshot_id = side.entity_snapshot.get(m.entity_id, (m.source, m.snapshot_id))
    return Holding(
        id=f"{nm.node}#same-as#{m.entity_id}",
        owner=m.entity_id,
        asset=nm.node,
        share=parse_share("100"),
        role=f"{SAME_AS} {m.entity_id} (name match {m.score:.2f})",
        start_date=None,
        end_date=None,
        origin=f"{source} snapshot {snapshot_id}",
    )


def _public(graph: OwnershipGraph, node_id: str) -> str:
    """The id a user knows: the KYB input's id for KYB parties, the list id otherwise."""
    node = graph.nodes.get(node_id)
    return node.input_id if node is not None and node.input_id is not None else node_id


def _public_path(graph: OwnershipGraph, path: dict[str, Any]) -> dict[str, Any]:
    steps = [
        {
            **s,
            "owner": _public(graph, s["owner"]),
            "asset": _public(graph, s["asset"]),
            "records": [input_id_of(r) for r in s.get("records", [])],
        }
        for s in path.get("steps", [])
    ]
    return {**path, "steps": steps} if "steps" in path else dict(path)


def _match_dict(graph: OwnershipGraph, nm: _NodeMatch, role: str) -> dict[str, Any]:
    head: dict[str, Any] = {
        "kind": "match",
        "node": _public(graph, nm.node),
        "role": role,
        "effect": nm.effect,
    }
    head["node_name"] = graph.nodes[nm.node].name
    return head | asdict(nm.match) | {"threshold": nm.threshold}


def _upstream(graph: OwnershipGraph, node_id: str) -> dict[str, str]:
    """Every party above a company (owners, UBOs, directors, their owners …) -> its role."""
    roles: dict[str, str] = {node_id: "company"}
    todo = [node_id]
    while todo:
        current = todo.pop()
        above = [(h.owner, "owner") for h in graph.owners_of(current)]
        above += [(c.controller, c.kind) for c in graph.controllers_of(current)]
        for party, role in above:
            if party not in roles:
                roles[party] = role if current == node_id else f"indirect {role}"
                todo.append(party)
    return roles


def _result(
    graph: OwnershipGraph,
    a: Assessment,
    found: dict[str, list[_NodeMatch]],
    signals: list[Signal],
    snapshots: dict[str, int],
) -> CompanyResult:
    roles = _upstream(graph, a.entity_id)
    matches = [
        _match_dict(graph, nm, roles[party])
        for party in roles
        for nm in found.get(party, [])
        if nm.effect != "linked" or party == a.entity_id
    ]
    own = [m for m in matches if m["role"] == "company"]
    paths = [
        m | {"certain": m["effect"] == "listed"}
        for m in own
        if m["effect"] in ("listed", "possibly_listed")
    ]
    paths += [_public_path(graph, p) for p in a.paths if p.get("kind") != "listed"]
    return CompanyResult(
        entity_id=_public(graph, a.entity_id),
        name=a.name,
        verdict=a.verdict,
        controlled=a.controlled,
        paths=paths,
        signals=[_public_ids(graph, s.to_dict()) for s in signals],
        eu_verdict=a.eu_verdict,
        listed=a.listed,
        blocked_share=BlockedShare(round(a.blocked_low, 6), round(a.blocked_high, 6)),
        control_paths=[_public_path(graph, p) for p in a.control_paths],
        matches=matches,
        snapshots=dict(snapshots),
    )


def _public_ids(graph: OwnershipGraph, value: Any) -> Any:
    """``value`` (signal evidence) with KYB graph ids replaced by the ids the input used."""
    if isinstance(value, dict):
        return {k: _public_ids(graph, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public_ids(graph, v) for v in value]
    if isinstance(value, str) and value.startswith(PREFIX):
        return _public(graph, value)
    return value


# ----------------------------------------------------------------------------- the service


class CompanyService:
    """Checks corporate customers; the list side is cached per set of active snapshots."""

    def __init__(self, db: Database, possible_floor: float = POSSIBLE_FLOOR) -> None:
        self.db = db
        self.possible_floor = possible_floor
        self.cache: SnapshotCache[ListSide] = SnapshotCache(db, ListSide.build)

    def check(self, request: CompanyRequest) -> CompanyCheck:
        """Verdicts for the customer companies of the request.

        Raises ``KybError`` (a file cannot be read), ``NoListsError`` (no list loaded) and
        ``BadRequest`` (no company could be read, the problems named)."""
        records, problems = request.read()
        side, _ = self.cache.get()
        if not side.snapshots:
            raise NoListsError(
                "no sanctions lists loaded; load some with: sanctrace lists load PATH"
            )
        check = check_records(side, records, problems, self.possible_floor, request.as_of)
        if not check.results:
            raise BadRequest(
                _nothing_read(request.source, check.problems),
                problems=[str(p) for p in check.problems],
            )
        return check


def _nothing_read(source: str, problems: Sequence[Problem]) -> str:
    """The one-line message when no company could be read, naming the first problems."""
    if not problems:
        return f"{source}: no company could be read"
    named = "; ".join(str(p) for p in problems[:NAMED_PROBLEMS])
    more = f"; … {len(problems) - NAMED_PROBLEMS} more" if len(problems) > NAMED_PROBLEMS else ""
    return f"{source}: no company could be read ({len(problems)} problems: {named}{more})"


def check_companies(
    db: Database,
    paths: Iterable[Path | str],
    possible_floor: float = POSSIBLE_FLOOR,
    as_of: str | None = None,
) -> CompanyCheck:
    """Check the companies of KYB files (FtM JSON lines or CSV) against the active lists."""
    return CompanyService(db, possible_floor).check(CompanyRequest.files(paths, as_of))
