"""Shell and front-company signals: named indicators, each with an explanation and evidence.

A signal is not a verdict: it says why a company deserves a closer look (a Singapore company
owned from Russia, formed a month after its owner's designation, sharing a phone number with
a listed entity …). Thresholds and country lists come from ``data/signals.yml``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypedDict

from sanctrace.network.graph import Control, Holding, OwnershipGraph
from sanctrace.network.signal_config import CONFIG_PATH, SignalConfig, SignalConfigError
from sanctrace.network.signal_paths import cycle_through, ownership_cycles
from sanctrace.network.signal_values import CONTACTS, days_between, split_values

__all__ = ["CONFIG_PATH", "TITLES", "Signal", "SignalConfig", "SignalConfigError", "shell_signals"]
DIRECTOR_KINDS = frozenset({"director", "nominee"})

TITLES = {
    "third_country_front": "Incorporated in a third country, owned or run from a sanctioned one",
    "formed_near_designation": "Incorporated shortly before or after an owner's designation",
    "reowned_near_designation": "Re-owned shortly before or after an owner's designation",
    "shares_moved_from_listed": "Shares moved away from a listed person near the designation",
    "shared_director": "Shares a director with a listed entity",
    "shared_address": "Shares an address with a listed entity",
    "shared_phone": "Shares a phone number with a listed entity",
    "shared_email": "Shares an e-mail address with a listed entity",
    "circular_ownership": "Circular ownership",
    "deep_ownership": "Deep ownership chain",
    "nominee_director": "Nominee-style director",
}


class Party(TypedDict):
    id: str
    name: str
    country: str | None


class ChainLink(TypedDict):
    owner: str
    asset: str
    share: str
    origin: str


class OwnerEvidence(Party):
    link: str
    layer: int
    chain: list[ChainLink]


class ControllerEvidence(Party):
    link: str
    role: str | None
    origin: str


class FormedEvidence(Party):
    link: str
    designation_date: str
    incorporation_date: str
    days_after_designation: int


class ReownedEvidence(TypedDict):
    new_owner: Party
    share: str
    start_date: str | None
    origin: str
    designated_owner: Party
    designation_date: str
    days_after_designation: int


class Taker(TypedDict):
    owner: Party
    share: str
    start_date: str | None


class MovedEvidence(TypedDict):
    former_owner: Party
    share: str
    end_date: str
    designation_date: str
    days_after_designation: int
    origin: str
    new_owners: list[Taker]


class DirectorEvidence(TypedDict):
    director: Party
    role: str | None
    listed_entity: Party
    reason: str


class ContactEvidence(TypedDict):
    value: str
    listed_entity: Party
    reason: str


class NomineeEvidence(TypedDict):
    director: Party
    role: str | None
    companies_directed: int
    examples: list[Party]


@dataclass
class Signal:
    """One indicator that fired for a company."""

    code: str
    title: str
    explanation: str
    evidence: Sequence[Mapping[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "title": self.title,
            "explanation": self.explanation,
            "evidence": self.evidence,
        }


class _Context:
    """Indexes shared by the signals of one run."""

    def __init__(
        self,
        graph: OwnershipGraph,
        listed: Mapping[str, str],
        designations: Mapping[str, str],
        config: SignalConfig,
        as_of: str,
    ) -> None:
        self.g, self.listed, self.designations = graph, listed, designations
        self.cfg, self.as_of = config, as_of
        self.owners: dict[str, list[Holding]] = defaultdict(list)
        self.active_owners: dict[str, list[Holding]] = defaultdict(list)
        for h in graph.holdings:
            self.owners[h.asset].append(h)
            if h.active(as_of):
                self.active_owners[h.asset].append(h)
        self.controllers: dict[str, list[Control]] = defaultdict(list)
        self.directs: dict[str, set[str]] = defaultdict(set)  # director -> companies
        for c in graph.controls:
            if not c.active(as_of):
                continue
            self.controllers[c.company].append(c)
            if c.kind in DIRECTOR_KINDS:
                self.directs[c.controller].add(c.company)
        self.contacts: dict[str, dict[str, set[str]]] = {
            code: defaultdict(set) for code in CONTACTS
        }
        for node_id in listed:
            for code, values in self.contact_values(node_id).items():
                for _, key in values:
                    self.contacts[code][key].add(node_id)
        self.cycles = ownership_cycles(graph, as_of)
        self.components: dict[int, set[str]] = defaultdict(set)
        for node_id, comp in self.cycles.items():
            self.components[comp].add(node_id)

    def contact_values(self, node_id: str) -> dict[str, list[tuple[str, str]]]:
        node = self.g.nodes.get(node_id)
        if node is None:
            return {}
        out: dict[str, list[tuple[str, str]]] = {}
        for code, (prop, norm) in CONTACTS.items():
            raw = (
                self.g.node_addresses(node_id)
                if prop == "address"
                else split_values(node.properties.get(prop, []))
            )
            pairs = [(v, norm(v)) for v in raw]
            out[code] = [(v, k) for v, k in pairs if k]
        return out

    def ancestors(self, company: str, active: bool) -> list[tuple[str, int, list[Holding]]]:
        """Parties above ``company`` (breadth first): (id, layer, chain of holdings)."""
        index = self.active_owners if active else self.owners
        out: list[tuple[str, int, list[Holding]]] = []
        seen = {company}
        queue: deque[tuple[str, int, list[Holding]]] = deque([(company, 0, [])])
        while queue:
            node, depth, chain = queue.popleft()
            if depth >= self.cfg.max_depth:
                continue
            for h in index.get(node, []):
                if h.owner in seen:
                    continue
                seen.add(h.owner)
                path = [h, *chain]
                out.append((h.owner, depth + 1, path))
                queue.append((h.owner, depth + 1, path))
        return out

    def party(self, node_id: str) -> Party:
        node = self.g.nodes.get(node_id)
        return {
            "id": node_id,
            "name": node.name if node else node_id,
            "country": node.country if node else None,
        }


def _chain(chain: list[Holding]) -> list[ChainLink]:
    return [
        {"owner": h.owner, "asset": h.asset, "share": h.share.label(), "origin": h.origin}
        for h in chain
    ]


def _third_country_front(ctx: _Context, cid: str) -> Signal | None:
    node = ctx.g.nodes[cid]
    if node.country is None or node.country not in ctx.cfg.third_countries:
        return None
    evidence: list[OwnerEvidence | ControllerEvidence] = []
    for party, layer, chain in ctx.ancestors(cid, active=True):
        country = ctx.g.nodes[party].country
        if country in ctx.cfg.sanctioned_jurisdictions:
            evidence.append(
                {**ctx.party(party), "link": "owner", "layer": layer, "chain": _chain(chain)}
            )
    for c in ctx.controllers.get(cid, []):
        if ctx.g.nodes[c.controller].country in ctx.cfg.sanctioned_jurisdictions:
            evidence.append(
                {**ctx.party(c.controller), "link": c.kind, "role": c.role, "origin": c.origin}
            )
    if not evidence:
        return None
    where = sorted({e["country"] or "" for e in evidence})
    return Signal(
        "third_country_front",
        TITLES["third_country_front"],
        f"{node.name} is incorporated in {node.country.upper()}; {len(evidence)} of its "
        f"owners or directors are in {', '.join(c.upper() for c in where)}.",
        evidence,
    )


def _designated_parties(ctx: _Context, cid: str) -> list[tuple[str, str, str]]:
    """(party, link, designation date) for owners (any time, any layer) and controllers."""
    out = [
        (p, "owner", ctx.designations[p])
        for p, _, _ in ctx.ancestors(cid, active=False)
        if p in ctx.designations
    ]
    out += [
        (c.controller, c.kind, ctx.designations[c.controller])
        for c in ctx.g.controllers_of(cid)
        if c.controller in ctx.designations
    ]
    return list(dict.fromkeys(out))


def _formed_near_designation(ctx: _Context, cid: str) -> Signal | None:
    dates = ctx.g.nodes[cid].properties.get("incorporationDate")
    formed = dates[0] if dates else None
    if not formed:
        return None
    window = ctx.cfg.formation_window_days
    evidence: list[FormedEvidence] = []
    for party, link, designated in _designated_parties(ctx, cid):
        days = days_between(formed, designated)
        if days is not None and abs(days) <= window:
            evidence.append(
                {
                    **ctx.party(party),
                    "link": link,
                    "designation_date": designated,
                    "incorporation_date": formed,
                    "days_after_designation": days,
                }
            )
    if not evidence:
        return None
    first = evidence[0]
    when = "after" if first["days_after_designation"] >= 0 else "before"
    return Signal(
        "formed_near_designation",
        TITLES["formed_near_designation"],
        f"Incorporated {formed}, {abs(first['days_after_designation'])} days {when} "
        f"{first['name']} was designated ({first['designation_date']}); the window is "
        f"{window} days.",
        evidence,
    )


def _reowned_near_designation(ctx: _Context, cid: str) -> Signal | None:
    window = ctx.cfg.reowned_window_days
    holdings = ctx.owners.get(cid, [])
    designated = {
        h.owner: ctx.designations[h.owner] for h in holdings if h.owner in ctx.designations
    }
    evidence: list[ReownedEvidence] = []
    for party, when in designated.items():
        for h in holdings:
            days = days_between(h.start_date, when)
            if days is None or abs(days) > window:
                continue
            evidence.append(
                {
                    "new_owner": ctx.party(h.owner),
                    "share": h.share.label(),
                    "start_date": h.start_date,
                    "origin": h.origin,
                    "designated_owner": ctx.party(party),
                    "designation_date": when,
                    "days_after_designation": days,
                }
            )
    if not evidence:
        return None
    e = evidence[0]
    return Signal(
        "reowned_near_designation",
        TITLES["reowned_near_designation"],
        f"{e['new_owner']['name']} became an owner on {e['start_date']}, "
        f"{abs(e['days_after_designation'])} days "
        f"{'after' if e['days_after_designation'] >= 0 else 'before'} "
        f"{e['designated_owner']['name']} was designated ({e['designation_date']}).",
        evidence,
    )


def _shares_moved_from_listed(ctx: _Context, cid: str) -> Signal | None:
    window = ctx.cfg.share_move_window_days
    holdings = ctx.owners.get(cid, [])
    evidence: list[MovedEvidence] = []
    for h in holdings:
        if h.owner not in ctx.listed or h.owner not in ctx.designations or not h.end_date:
            continue
        designated = ctx.designations[h.owner]
        days = days_between(h.end_date, designated)
        if days is None or abs(days) > window:
            continue
        takers: list[Taker] = [
            {"owner": ctx.party(o.owner), "share": o.share.label(), "start_date": o.start_date}
            for o in holdings
            if o.owner != h.owner
            and o.start_date
            and abs(days_between(o.start_date, h.end_date) or 10**6) <= 90
        ]
        evidence.append(
            {
                "former_owner": ctx.party(h.owner),
                "share": h.share.label(),
                "end_date": h.end_date,
                "designation_date": designated,
                "days_after_designation": days,
                "origin": h.origin,
                "new_owners": takers,
            }
        )
    if not evidence:
        return None
    e = evidence[0]
    return Signal(
        "shares_moved_from_listed",
        TITLES["shares_moved_from_listed"],
        f"{e['former_owner']['name']}'s holding ({e['share']}) ended on {e['end_date']}, "
        f"{abs(e['days_after_designation'])} days "
        f"{'after' if e['days_after_designation'] >= 0 else 'before'} the designation "
        f"({e['designation_date']}); the window is {window} days.",
        evidence,
    )


def _shared_director(ctx: _Context, cid: str) -> Signal | None:
    evidence: list[DirectorEvidence] = []
    for c in ctx.controllers.get(cid, []):
        if c.kind not in DIRECTOR_KINDS:
            continue
        others = sorted(
            x for x in ctx.directs.get(c.controller, ()) if x != cid and x in ctx.listed
        )
        for other in others:
            evidence.append(
                {
                    "director": ctx.party(c.controller),
                    "role": c.role,
                    "listed_entity": ctx.party(other),
                    "reason": ctx.listed[other],
                }
            )
    if not evidence:
        return None
    e = evidence[0]
    return Signal(
        "shared_director",
        TITLES["shared_director"],
        f"{e['director']['name']} also directs {e['listed_entity']['name']}, which is listed.",
        evidence,
    )


def _shared_contacts(ctx: _Context, cid: str) -> list[Signal]:
    out: list[Signal] = []
    for code, values in ctx.contact_values(cid).items():
        evidence: list[ContactEvidence] = []
        for value, key in values:
            for other in sorted(ctx.contacts[code].get(key, ())):
                if other != cid:
                    evidence.append(
                        {
                            "value": value,
                            "listed_entity": ctx.party(other),
                            "reason": ctx.listed[other],
                        }
                    )
        if evidence:
            e = evidence[0]
            what = CONTACTS[code][0]
            out.append(
                Signal(
                    code,
                    TITLES[code],
                    f"Its {what} {e['value']!r} is also that of "
                    f"{e['listed_entity']['name']}, which is listed.",
                    evidence,
                )
            )
    return out


def _circular(ctx: _Context, cid: str) -> Signal | None:
    if cid not in ctx.cycles:
        return None
    cycle = cycle_through(ctx.g, cid, ctx.components[ctx.cycles[cid]], ctx.as_of)
    names = " → ".join(ctx.g.name_of(h.owner) for h in cycle) + f" → {ctx.g.name_of(cid)}"
    return Signal(
        "circular_ownership",
        TITLES["circular_ownership"],
        f"Ownership runs in a circle: {names}.",
        _chain(cycle),
    )


def _deep(ctx: _Context, cid: str) -> Signal | None:
    companies = [
        (p, layer, chain)
        for p, layer, chain in ctx.ancestors(cid, active=True)
        if ctx.g.nodes[p].is_company
    ]
    if not companies:
        return None
    party, layer, chain = max(companies, key=lambda t: t[1])
    if layer < ctx.cfg.deep_ownership_min_layers:
        return None
    return Signal(
        "deep_ownership",
        TITLES["deep_ownership"],
        f"{layer} layers of companies above it, up to {ctx.g.name_of(party)}; the "
        f"threshold is {ctx.cfg.deep_ownership_min_layers}.",
        _chain(chain),
    )


def _nominee(ctx: _Context, cid: str) -> Signal | None:
    evidence: list[NomineeEvidence] = []
    for c in ctx.controllers.get(cid, []):
        if c.kind not in DIRECTOR_KINDS:
            continue
        count = len(ctx.directs.get(c.controller, ()))
        if c.kind == "nominee" or count >= ctx.cfg.nominee_min_companies:
            examples = sorted(ctx.directs.get(c.controller, ()))[:10]
            evidence.append(
                {
                    "director": ctx.party(c.controller),
                    "role": c.role,
                    "companies_directed": count,
                    "examples": [ctx.party(x) for x in examples],
                }
            )
    if not evidence:
        return None
    e = evidence[0]
    return Signal(
        "nominee_director",
        TITLES["nominee_director"],
        f"{e['director']['name']} ({e['role'] or 'director'}) directs "
        f"{e['companies_directed']} companies; the threshold is "
        f"{ctx.cfg.nominee_min_companies} (or a role that says nominee).",
        evidence,
    )


def shell_signals(
    graph: OwnershipGraph,
    listed: Mapping[str, str],
    designations: Mapping[str, str] | None = None,
    ids: Iterable[str] | None = None,
    config: SignalConfig | None = None,
    as_of: str | None = None,
) -> dict[str, list[Signal]]:
    """Signals per company (default: every company that is not listed), [] when none fired.

    ``designations``: party id -> ISO date of its designation. ``as_of`` (default today)
    selects the links in force for the signals about the present structure (third country,
    shared director, circular and deep ownership, nominees); the date signals look at the
    whole history.
    """
    config = config or SignalConfig.load()
    ctx = _Context(graph, listed, designations or {}, config, as_of or date.today().isoformat())
    if ids is None:
        ids = [i for i, n in graph.nodes.items() if n.is_company and i not in listed]
    out: dict[str, list[Signal]] = {}
    for cid in dict.fromkeys(ids):
        if cid not in graph.nodes:
            continue
        found = [
            _third_country_front(ctx, cid),
            _formed_near_designation(ctx, cid),
            _reowned_near_designation(ctx, cid),
            _shares_moved_from_listed(ctx, cid),
            _shared_director(ctx, cid),
            *_shared_contacts(ctx, cid),
            _circular(ctx, cid),
            _deep(ctx, cid),
            _nominee(ctx, cid),
        ]
        out[cid] = [s for s in found if s is not None]
    return out
