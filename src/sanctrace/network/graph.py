"""The ownership and control graph: parties, holdings between them, control links.

Built from FtM records (list snapshots and the exchange's KYB data). Bad records become
``Problem`` entries naming the record and field; everything else is kept.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sanctrace.countries import country_code
from sanctrace.network.shares import EPS, Share, same_pair, share_or_unknown

NODE_SCHEMAS = frozenset({"Person", "Company", "Organization", "LegalEntity", "PublicBody"})
COMPANY_SCHEMAS = frozenset({"Company", "Organization", "LegalEntity", "PublicBody"})
NAME_PROPS = ("name", "alias", "previousName", "weakAlias")
COUNTRY_PROPS = ("jurisdiction", "country", "mainCountry", "nationality", "citizenship")
# Ownership roles that say the asset is the owner's subsidiary: the share stays unknown
# (see shares.py) and the link also counts as control.
PARENT_ROLE = re.compile(r"subsidiary|parent|holding company|daughter", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def is_iso_date(text: str) -> bool:
    """True for a real date written ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``."""
    m = _ISO_DATE.match(text)
    if not m:
        return False
    try:
        date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class Node:
    """A person or company: a listed party, a customer, or one of their owners."""

    id: str
    schema: str
    name: str
    names: list[str]
    country: str | None
    properties: dict[str, list[str]]  # FtM properties (address, phone, email, incorporationDate…)
    origin: str  # "list", or "kyb:<file>"
    input_id: str | None = None  # the id the KYB input used (None: same as ``id``)

    @property
    def is_company(self) -> bool:
        return self.schema in COMPANY_SCHEMAS


@dataclass(frozen=True, slots=True)
class Holding:
    """``owner`` holds ``share`` of ``asset``."""

    id: str
    owner: str
    asset: str
    share: Share
    role: str | None
    start_date: str | None
    end_date: str | None
    origin: str  # "file.csv:12", "zala.ftm.json:40"

    def active(self, as_of: str) -> bool:
        return _active(self.start_date, self.end_date, as_of)


@dataclass(frozen=True, slots=True)
class Control:
    """``controller`` directs or controls ``company`` without (or beside) a shareholding."""

    id: str
    controller: str
    company: str
    kind: str  # "director", "ubo", "control", "nominee", "parent", "representative"
    role: str | None
    start_date: str | None
    end_date: str | None
    origin: str

    def active(self, as_of: str) -> bool:
        return _active(self.start_date, self.end_date, as_of)


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad input record or field, and what was done about it."""

    origin: str
    field: str
    message: str
    record: str | None = None

    def __str__(self) -> str:
        return f"{self.origin}: {self.field}: {self.message}"

    def to_dict(self) -> dict[str, str | None]:
        return {
            "origin": self.origin,
            "field": self.field,
            "message": self.message,
            "record": self.record,
        }


def _active(start: str | None, end: str | None, as_of: str) -> bool:
    """ISO text compares in date order; a partial end date ("2023") counts as already ended."""
    return (start is None or start <= as_of) and (end is None or end > as_of)


def control_kind(role: str | None, default: str) -> str:
    """The kind of a control link from its role text."""
    key = (role or "").casefold()
    if "nominee" in key:
        return "nominee"
    if "ubo" in key or "beneficial" in key:
        return "ubo"
    return default


class OwnershipGraph:
    """Parties, holdings and control links, with problems found while reading them."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.holdings: list[Holding] = []
        self.controls: list[Control] = []
        self.problems: list[Problem] = []
        self.addresses: dict[str, list[str]] = {}  # FtM Address entity id -> full text
        self._index: _Indexes | None = None
        self._oversubscribed_seen: set[str] = set()

    # -- building ---------------------------------------------------------------------

    def add_node(self, node: Node) -> None:
        """Add a party, or merge names and properties into the one already there."""
        old = self.nodes.get(node.id)
        if old is None:
            self.nodes[node.id] = node
            return
        for name in node.names:
            if name not in old.names:
                old.names.append(name)
        for prop, values in node.properties.items():
            bucket = old.properties.setdefault(prop, [])
            bucket.extend(v for v in values if v not in bucket)
        old.country = old.country or node.country
        if old.schema == "LegalEntity" and node.schema != "LegalEntity":
            old.schema = node.schema  # the more specific schema wins
        if old.name == old.id:
            old.name = node.name

    def add_holding(self, h: Holding) -> None:
        if h.owner == h.asset:
            self.problems.append(
                Problem(h.origin, "owner", f"{h.owner} owns itself; record skipped", h.id)
            )
            return
        self.holdings.append(h)
        self._index = None

    def add_control(self, c: Control) -> None:
        if c.controller == c.company:
            self.problems.append(
                Problem(
                    c.origin, "controller", f"{c.company} controls itself; record skipped", c.id
                )
            )
            return
        self.controls.append(c)
        self._index = None

    def add_ftm(self, records: Iterable[object], origin: str) -> None:
        """Add FtM records: parties, Ownership, Directorship, UnknownLink, Representation.

        ``origin`` names the file; a record's own ``origin`` key (``file.csv:12``, as
        ``kyb.read_kyb`` writes it) wins over ``origin:<line>``. Other schemas are ignored,
        except Address entities, kept so that ``addressEntity`` references resolve.
        """
        for lineno, record in enumerate(records, start=1):
            where = f"{origin}:{lineno}"
            if not isinstance(record, dict):
                self.problems.append(Problem(where, "record", "not an FtM entity; record skipped"))
                continue
            where = str(record.get("origin") or where)
            try:
                self._add_record(record, where)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                rid = record.get("id")
                self.problems.append(
                    Problem(where, "record", f"not an FtM entity ({exc}); record skipped", rid)
                )

    def _add_record(self, record: dict[str, Any], where: str) -> None:
        schema = record.get("schema")
        rid = record.get("id")
        if not schema or not rid:
            self.problems.append(
                Problem(where, "id" if not rid else "schema", "missing; record skipped", rid)
            )
            return
        rid = str(rid)
        props = _props(record.get("properties") or {})
        if schema in NODE_SCHEMAS:
            self.add_node(_node(rid, schema, record, props, where))
        elif schema == "Address":
            full = props.get("full") or [
                ", ".join(props[k][0] for k in ("street", "city", "postalCode") if props.get(k))
            ]
            self.addresses[rid] = [v for v in full if v]
        elif schema == "Ownership":
            self._add_ownership(rid, props, where)
        elif schema == "Directorship":
            self._add_link(rid, props, where, "director", "organization", "director")
        elif schema == "UnknownLink":
            self._add_link(rid, props, where, "subject", "object", "control")
        elif schema == "Representation":
            self._add_link(rid, props, where, "agent", "client", "representative")

    def _dates(
        self, rid: str, props: dict[str, list[str]], where: str
    ) -> tuple[str | None, str | None]:
        out: list[str | None] = []
        for prop in ("startDate", "endDate"):
            value = _first(props, prop)
            if value is not None:
                value = value.strip()[:10]
                if not is_iso_date(value):
                    self.problems.append(
                        Problem(where, prop, f"{value!r} is not an ISO date; date ignored", rid)
                    )
                    value = None
            out.append(value)
        return out[0], out[1]

    def _ends(
        self, rid: str, props: dict[str, list[str]], where: str, a: str, b: str
    ) -> tuple[str, str] | None:
        ends: list[str] = []
        for prop in (a, b):
            value = _first(props, prop)
            if not value:
                self.problems.append(Problem(where, prop, "missing; record skipped", rid))
                return None
            ends.append(value)
        return ends[0], ends[1]

    def _add_ownership(self, rid: str, props: dict[str, list[str]], where: str) -> None:
        ends = self._ends(rid, props, where, "owner", "asset")
        if ends is None:
            return
        role = _first(props, "role")
        text = _first(props, "percentage")
        share, bad = share_or_unknown(text, role)
        if bad is not None:
            self.problems.append(
                Problem(where, "percentage", f"{bad}; counted as unknown (0-100%)", rid)
            )
        start, end = self._dates(rid, props, where)
        self.add_holding(Holding(rid, ends[0], ends[1], share, role, start, end, where))
        if role and PARENT_ROLE.search(role) and ends[0] != ends[1]:
            self.add_control(
                Control(f"{rid}#parent", ends[0], ends[1], "parent", role, start, end, where)
            )

    def _add_link(
        self, rid: str, props: dict[str, list[str]], where: str, a: str, b: str, kind: str
    ) -> None:
        ends = self._ends(rid, props, where, a, b)
        if ends is None:
            return
        role = _first(props, "role")
        start, end = self._dates(rid, props, where)
        self.add_control(
            Control(rid, ends[0], ends[1], control_kind(role, kind), role, start, end, where)
        )

    # -- checking and reading ----------------------------------------------------------

    def validate(self) -> list[Problem]:
        """Drop links to parties that are not in the graph; flag assets held over 100%.

        Call after all inputs are added. Returns the problems found now (also appended to
        ``problems``); a second call finds none.
        """
        found: list[Problem] = []
        kept_h: list[Holding] = []
        for h in self.holdings:
            missing = [i for i in (h.owner, h.asset) if i not in self.nodes]
            if missing:
                found.append(
                    Problem(
                        h.origin,
                        "owner" if h.owner in missing else "asset",
                        f"refers to {missing[0]!r}, which is in no input; record skipped",
                        h.id,
                    )
                )
            else:
                kept_h.append(h)
        kept_c: list[Control] = []
        for c in self.controls:
            missing = [i for i in (c.controller, c.company) if i not in self.nodes]
            if missing:
                if not c.id.endswith("#parent"):  # already reported for its Ownership
                    found.append(
                        Problem(
                            c.origin,
                            "controller" if c.controller in missing else "company",
                            f"refers to {missing[0]!r}, which is in no input; record skipped",
                            c.id,
                        )
                    )
            else:
                kept_c.append(c)
        self.holdings, self.controls, self._index = kept_h, kept_c, None
        found.extend(self._oversubscribed())
        self.problems.extend(found)
        return found

    def _oversubscribed(self) -> list[Problem]:
        pairs: dict[str, dict[str, list[Share]]] = defaultdict(lambda: defaultdict(list))
        for h in self.holdings:
            if h.end_date is None:
                pairs[h.asset][h.owner].append(h.share)
        found = []
        for asset, owners in pairs.items():
            low = sum(same_pair(shares).low for shares in owners.values())
            if low > 100 + EPS and asset not in self._oversubscribed_seen:
                self._oversubscribed_seen.add(asset)
                node = self.nodes[asset]
                found.append(
                    Problem(
                        node.origin if node.origin != "list" else asset,
                        "percentage",
                        f"current owners of {asset} hold {low:g}% together (over "
                        "100%); kept, sums capped at 100%",
                        asset,
                    )
                )
        return found

    def _indexes(self) -> _Indexes:
        if self._index is None:
            owners: dict[str, list[Holding]] = defaultdict(list)
            assets: dict[str, list[Holding]] = defaultdict(list)
            ctl: dict[str, list[Control]] = defaultdict(list)
            for h in self.holdings:
                owners[h.asset].append(h)
                assets[h.owner].append(h)
            for c in self.controls:
                ctl[c.company].append(c)
            self._index = (owners, assets, ctl)
        return self._index

    def owners_of(self, node_id: str) -> list[Holding]:
        return list(self._indexes()[0].get(node_id, ()))

    def assets_of(self, node_id: str) -> list[Holding]:
        return list(self._indexes()[1].get(node_id, ()))

    def controllers_of(self, node_id: str) -> list[Control]:
        return list(self._indexes()[2].get(node_id, ()))

    def controlled_by(self, node_id: str) -> list[Control]:
        """Control links where ``node_id`` is the controller."""
        return [c for c in self.controls if c.controller == node_id]

    def node_addresses(self, node_id: str) -> list[str]:
        """Address texts of a party, with ``addressEntity`` references resolved."""
        node = self.nodes.get(node_id)
        if node is None:
            return []
        out = list(node.properties.get("address", []))
        for ref in node.properties.get("addressEntity", []):
            out.extend(a for a in self.addresses.get(ref, []) if a not in out)
        return out

    def name_of(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return node.name if node else node_id


_Indexes = tuple[dict[str, list[Holding]], dict[str, list[Holding]], dict[str, list[Control]]]


def _first(props: dict[str, list[str]], prop: str) -> str | None:
    """The first value of ``prop``, None when it has none."""
    values = props.get(prop)
    return values[0] if values else None


def _props(raw: dict[str, object]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for prop, values in raw.items():
        if not isinstance(values, list):
            values = [values]
        texts = [" ".join(str(v).split()) for v in values if v is not None and str(v).strip()]
        if texts:
            out[str(prop)] = texts
    return out


def _node(
    rid: str, schema: str, record: dict[str, Any], props: dict[str, list[str]], where: str
) -> Node:
    names: list[str] = []
    for prop in NAME_PROPS:
        names.extend(n for n in props.get(prop, []) if n not in names)
    name = names[0] if names else str(record.get("caption") or rid)
    country = None
    for prop in COUNTRY_PROPS:
        for value in props.get(prop, []):
            country = country_code(value)
            if country:
                break
        if country:
            break
    input_id = record.get("input_id")
    node_origin = f"kyb:{where.rsplit(':', 1)[0]}" if input_id is not None else "list"
    return Node(
        rid,
        schema,
        name,
        names or [name],
        country,
        props,
        node_origin,
        str(input_id) if input_id is not None else None,
    )
