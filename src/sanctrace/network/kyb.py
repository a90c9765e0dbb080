"""The exchange's KYB data on corporate customers: CSV or FtM JSON lines, to FtM records.

Ids from the input are prefixed ``kyb:`` so they cannot collide with list ids; the input id
stays in the record's ``input_id`` (and ``Node.input_id``). In FtM input, a reference to an
id that no KYB record defines is kept as written, so KYB data can point at a list entity.
Each record carries ``origin`` (``file:line``) for messages; customers carry
``kyb_customer``. The CSV layout is documented in docs/network.md.

Company objects (an API body: a company with shareholders to any depth, UBOs and directors)
arrive as plain ``KybCompany`` records and are flattened here into the same FtM records, so
a party without an id gets one rule (``party_id``) whichever way it came in.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sanctrace.countries import country_code
from sanctrace.customer_dates import DateError, customer_date
from sanctrace.errors import SanctraceError
from sanctrace.fileio import read_text
from sanctrace.network.graph import COMPANY_SCHEMAS, Problem

Record = dict[str, Any]  # an FtM entity as a dict (``id``, ``schema``, ``properties`` …)

PREFIX = "kyb:"
COLUMNS = (
    "company_id",
    "company_name",
    "company_country",
    "incorporation_date",
    "registered_address",
    "phone",
    "email",
    "party_id",
    "party_name",
    "party_name_kana",
    "party_type",
    "party_country",
    "party_address",
    "party_phone",
    "party_email",
    "party_birth_date",
    "party_incorporation_date",
    "relation",
    "role",
    "share",
    "start_date",
    "end_date",
)
PARTY_TYPES = {
    "person": "Person",
    "individual": "Person",
    "natural person": "Person",
    "company": "Company",
    "corporate": "Company",
    "legal entity": "Company",
    "legal_entity": "Company",
    "organization": "Organization",
    "organisation": "Organization",
    "trust": "LegalEntity",
    "entity": "LegalEntity",
    "": "LegalEntity",
}
# relation -> (FtM schema, owner-side property, company-side property)
RELATIONS = {
    "shareholder": ("Ownership", "owner", "asset"),
    "owner": ("Ownership", "owner", "asset"),
    "member": ("Ownership", "owner", "asset"),
    "parent": ("Ownership", "owner", "asset"),
    "ubo": ("UnknownLink", "subject", "object"),
    "beneficial_owner": ("UnknownLink", "subject", "object"),
    "director": ("Directorship", "director", "organization"),
    "officer": ("Directorship", "director", "organization"),
    "nominee_director": ("Directorship", "director", "organization"),
    "secretary": ("Directorship", "director", "organization"),
    "control": ("UnknownLink", "subject", "object"),
    "controller": ("UnknownLink", "subject", "object"),
    "nominee": ("UnknownLink", "subject", "object"),
    "representative": ("Representation", "agent", "client"),
    "signatory": ("Representation", "agent", "client"),
}
REF_PROPS = (
    "owner",
    "asset",
    "director",
    "organization",
    "subject",
    "object",
    "agent",
    "client",
    "entity",
    "addressEntity",
    "holder",
)


class KybError(SanctraceError):
    """A KYB file that cannot be read at all."""


def party_id(name: str, schema: str, country: str | None) -> str:
    """The id of a party given without one: the same name, schema and country are one party.

    Case, spacing and the way the country is written ("RU", "ru", "Russia") do not matter."""
    code = country_code(country) or " ".join((country or "").split()).casefold()
    key = "|".join((" ".join(name.split()).casefold(), schema, code))
    return "party-" + hashlib.sha1(key.encode()).hexdigest()[:12]  # noqa: S324 (an id)


def input_id_of(node_id: str) -> str:
    """The id the KYB input used for a graph node id."""
    return node_id[len(PREFIX) :] if node_id.startswith(PREFIX) else node_id


def kyb_companies(records: list[Record]) -> list[str]:
    """Ids of the companies the input is about (the customers), in input order."""
    return list(dict.fromkeys(str(r["id"]) for r in records if r.get("kyb_customer")))


def read_kyb(paths: Iterable[Path | str]) -> tuple[list[Record], list[Problem]]:
    """FtM records and per-record problems from KYB files (FtM JSON lines or CSV)."""
    ftm_files: list[tuple[str, list[tuple[int, Record]]]] = []
    records: list[Record] = []
    problems: list[Problem] = []
    for path in paths:
        path = Path(path)
        text = _read(path)
        if text.lstrip().startswith("{"):
            ftm_files.append((str(path), _ftm_lines(str(path), text, problems)))
        else:
            records.extend(_csv(str(path), text, problems))
    records.extend(_ftm_records(ftm_files, problems))
    return records, problems


def _read(path: Path) -> str:
    try:
        return read_text(path)  # UTF-8, or Shift-JIS as Excel saves a CSV
    except OSError as exc:
        raise KybError(f"{path}: cannot read KYB file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise KybError(f"{path}: not UTF-8 text, nor Shift-JIS (byte {exc.start})") from exc


# -- FtM JSON lines --------------------------------------------------------------------------


def _ftm_lines(name: str, text: str, problems: list[Problem]) -> list[tuple[int, Record]]:
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(f"{name}:{lineno}", "json", f"{exc.msg}; line skipped"))
            continue
        if not isinstance(data, dict) or not data.get("id") or not data.get("schema"):
            problems.append(
                Problem(
                    f"{name}:{lineno}",
                    "id" if isinstance(data, dict) else "json",
                    "not an FtM entity (id and schema needed); line skipped",
                )
            )
            continue
        out.append((lineno, data))
    return out


def _ftm_records(
    files: list[tuple[str, list[tuple[int, Record]]]], problems: list[Problem]
) -> list[Record]:
    items = [(f"{name}:{lineno}", data) for name, lines in files for lineno, data in lines]
    return records_from_ftm(items, problems)


def records_from_ftm(
    items: list[tuple[str, Record]],
    problems: list[Problem],
    customers: Collection[str] | None = None,
) -> list[Record]:
    """KYB records from FtM dicts, each given with where it came from ("file:12", "request:3").

    Ids get the ``kyb:`` prefix, and so do references to ids the input defines (others may
    name list entities). Companies are customers unless ``customers`` names which are. Bad
    records go to ``problems``; the rest is kept."""
    defined = {str(d["id"]) for _, d in items}
    out: list[Record] = []
    for where, data in items:
        raw = data.get("properties") or {}
        if not isinstance(raw, dict):
            problems.append(Problem(where, "properties", "not an object; skipped", str(data["id"])))
            continue
        props = {str(k): (v if isinstance(v, list) else [v]) for k, v in raw.items()}
        for prop in REF_PROPS:
            if prop in props:
                props[prop] = [
                    PREFIX + str(v) if str(v) in defined else str(v) for v in props[prop]
                ]
        record = _record(data, props, where)
        if record["schema"] in COMPANY_SCHEMAS and (
            customers is None or record["input_id"] in customers
        ):
            record["kyb_customer"] = True
        out.append(record)
    return out


def records_from_dicts(
    lines: Iterable[object], name: str = "request"
) -> tuple[list[Record], list[Problem]]:
    """KYB records from FtM dicts given in memory (an API body), as files are read.

    Problems name ``<name>:<position>`` (1-based); every company is a customer."""
    problems: list[Problem] = []
    good: list[tuple[str, Record]] = []
    for pos, data in enumerate(lines, start=1):
        where = f"{name}:{pos}"
        if not isinstance(data, dict) or not data.get("id") or not data.get("schema"):
            problems.append(
                Problem(where, "id", "not an FtM entity (id and schema needed); skipped")
            )
            continue
        good.append((where, data))
    return records_from_ftm(good, problems), problems


def _record(data: Record, props: dict[str, list[Any]], where: str) -> Record:
    return {
        "id": PREFIX + str(data["id"]),
        "schema": str(data["schema"]),
        "properties": props,
        "origin": where,
        "input_id": str(data["id"]),
    }


# -- CSV -------------------------------------------------------------------------------------


class _Row:
    """One CSV row with the problems it raises named by file, line and column."""

    def __init__(self, where: str, row: dict[str, str], problems: list[Problem]) -> None:
        self.where, self.row, self.problems = where, row, problems

    def get(self, col: str) -> str:
        return " ".join((self.row.get(col) or "").split())

    def problem(self, col: str, message: str) -> None:
        self.problems.append(Problem(self.where, col, message, self.get("company_id") or None))

    def date(self, col: str) -> str | None:
        value = self.get(col)
        if not value:
            return None
        try:
            return customer_date(value)  # ISO, 1988年5月5日 or 昭和63年5月5日 / S63.5.5
        except DateError as exc:
            # An era date says what is wrong with it (平成32年 is past the era's end).
            era = not value[:1].isdigit()
            self.problem(
                col,
                f"{exc if era else f'{value!r} is not an ISO date (YYYY-MM-DD)'}; date ignored",
            )
            return None

    def country(self, col: str) -> str | None:
        value = self.get(col)
        if not value:
            return None
        code = country_code(value)
        if code is None:
            self.problem(col, f"{value!r} is not a known country; ignored")
        return code


def _csv(name: str, text: str, problems: list[Problem]) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    if "company_id" not in header:
        raise KybError(
            f"{name}: not a KYB CSV: no company_id column (header: {', '.join(header) or 'empty'})"
        )
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        problems.append(
            Problem(
                f"{name}:1",
                unknown[0],
                f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; ignored",
            )
        )
    reader.fieldnames = header
    nodes: dict[str, Record] = {}
    links: list[Record] = []
    for raw in reader:
        row = _Row(f"{name}:{reader.line_num}", raw, problems)
        company = row.get("company_id")
        if not company:
            if any(v and v.strip() for v in raw.values() if isinstance(v, str)):
                row.problem("company_id", "missing; row skipped")
            continue
        cid = PREFIX + company
        _merge(
            nodes,
            cid,
            "Company",
            company,
            row.where,
            {
                "name": [row.get("company_name")],
                "jurisdiction": [row.country("company_country")],
                "incorporationDate": [row.date("incorporation_date")],
                "address": [row.get("registered_address")],
                "phone": [row.get("phone")],
                "email": [row.get("email")],
            },
            customer=True,
        )
        if row.get("party_id") or row.get("party_name"):
            link = _party_link(row, cid, nodes)
            if link:
                links.append(link)
    return [*nodes.values(), *links]


def _party_link(row: _Row, cid: str, nodes: dict[str, Record]) -> Record | None:
    ptype = row.get("party_type").casefold()
    schema = PARTY_TYPES.get(ptype)
    if schema is None:
        row.problem(
            "party_type",
            f"{ptype!r} is not person, company or organization; read as an unspecified entity",
        )
        schema = "LegalEntity"
    # KYB files often omit ids for people: same name, type and country, the same party.
    party = row.get("party_id") or party_id(row.get("party_name"), schema, row.get("party_country"))
    pid = PREFIX + party
    _merge(
        nodes,
        pid,
        schema,
        party,
        row.where,
        {
            "name": [row.get("party_name")],
            # The kana reading of a kanji name is screened too: 山田太郎 is found as ヤマダ タロウ.
            "alias": [row.get("party_name_kana")],
            "jurisdiction" if schema != "Person" else "nationality": [row.country("party_country")],
            "address": [row.get("party_address")],
            "phone": [row.get("party_phone")],
            "email": [row.get("party_email")],
            "birthDate": [row.date("party_birth_date")],
            "incorporationDate": [row.date("party_incorporation_date")],
        },
    )
    relation = row.get("relation").casefold().replace(" ", "_").replace("-", "_")
    spec = RELATIONS.get(relation)
    if spec is None:
        row.problem(
            "relation",
            f"{relation or 'empty'!r} is not one of "
            f"{', '.join(sorted(RELATIONS))}; relation skipped",
        )
        return None
    schema_rel, own_prop, co_prop = spec
    # A share that cannot be read is kept: the graph counts it as unknown and reports it
    # (bad data never drops an owner, who might be listed).
    share = row.get("share")
    role = row.get("role") or row.get("relation")
    if relation in ("ubo", "beneficial_owner"):
        role = "ubo" if not row.get("role") else f"ubo: {row.get('role')}"
    props: dict[str, list[Any]] = {
        own_prop: [pid],
        co_prop: [cid],
        "role": [role],
        "startDate": [row.date("start_date")],
        "endDate": [row.date("end_date")],
    }
    if schema_rel == "Ownership" and share:
        props["percentage"] = [share]
    elif share:
        props["summary"] = [f"declared share {share}"]
    link_id = f"{PREFIX}{row.where}"
    return {
        "id": link_id,
        "schema": schema_rel,
        "origin": row.where,
        "input_id": row.where,
        "properties": _clean(props),
    }


def _clean(props: dict[str, list[Any]]) -> dict[str, list[str]]:
    return {k: [str(v) for v in vs if v] for k, vs in props.items() if any(vs)}


def _merge(
    nodes: dict[str, Record],
    nid: str,
    schema: str,
    input_id: str,
    where: str,
    props: dict[str, list[Any]],
    customer: bool = False,
) -> None:
    record = nodes.get(nid)
    if record is None:
        record = nodes[nid] = {
            "id": nid,
            "schema": schema,
            "properties": {},
            "origin": where,
            "input_id": input_id,
        }
    elif record["schema"] == "LegalEntity" and schema != "LegalEntity":
        record["schema"] = schema
    if customer:
        record["kyb_customer"] = True
    for prop, values in _clean(props).items():
        bucket = record["properties"].setdefault(prop, [])
        bucket.extend(v for v in values if v not in bucket)


# -- company objects -------------------------------------------------------------------------


@dataclass(frozen=True)
class KybParty:
    """A shareholder, UBO or director; a shareholder may have its own shareholders.

    ``type`` is a key of ``PARTY_TYPES``; ``share`` is a percentage as ``parse_share`` reads
    it (shareholders only). Without ``id``, ``party_id`` names the party. ``name_kana`` is
    the kana reading of a Japanese name (screened as one of its names); dates may be ISO or
    Japanese (1988年5月5日, 昭和63年5月5日)."""

    name: str
    type: str = "person"
    name_kana: str | None = None
    id: str | None = None
    country: str | None = None
    birth_date: str | None = None
    incorporation_date: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    share: str | float | None = None
    role: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    shareholders: tuple[KybParty, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KybParty:
        """A party from plain data (unknown keys are an error, as for the dataclass)."""
        owners = tuple(cls.from_dict(d) for d in data.get("shareholders") or ())
        return cls(**{**data, "shareholders": owners})

    @property
    def schema(self) -> str:
        return PARTY_TYPES.get(self.type.casefold(), "LegalEntity")


@dataclass(frozen=True)
class KybCompany:
    """A corporate customer as KYB holds it: shareholders (to any depth), UBOs, directors."""

    id: str
    name: str
    country: str | None = None
    incorporation_date: str | None = None
    registration_number: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    shareholders: tuple[KybParty, ...] = ()
    ubos: tuple[KybParty, ...] = ()
    directors: tuple[KybParty, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KybCompany:
        """A company from plain data (a validated API body's ``model_dump()``)."""
        parties = {
            key: tuple(KybParty.from_dict(d) for d in data.get(key) or ())
            for key in ("shareholders", "ubos", "directors")
        }
        return cls(**{**data, **parties})


def records_from_companies(
    companies: Iterable[KybCompany], name: str = "request"
) -> tuple[list[Record], list[Problem]]:
    """KYB records from company objects; only these companies are customers.

    Origins are ``<name>:<JSON path>`` (``request:companies[0].shareholders[1]``)."""
    items = list(companies)
    flat = _Flattener()
    for i, company in enumerate(items):
        flat.company(company, f"companies[{i}]")
    problems: list[Problem] = []
    pairs = [(f"{name}:{where}", record) for where, record in flat.items]
    records = records_from_ftm(pairs, problems, customers={c.id for c in items})
    return records, problems


def _date(value: str | None) -> str | None:
    """A party's date as ISO when it reads as one (昭和63年5月5日 too); else as given, for the
    screen to report it as unused."""
    try:
        return customer_date(value) if value else value
    except DateError:
        return value


def _props(**values: str | float | None) -> dict[str, list[str]]:
    return {k: [str(v)] for k, v in values.items() if v is not None and str(v).strip()}


class _Flattener:
    """Company objects to FtM entities, each with the JSON path that problems should name."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Record]] = []
        self.seen: set[str] = set()

    def add(self, record: Record, where: str) -> None:
        if record["id"] in self.seen:
            return  # a party named twice (two companies share a director) is one party
        self.seen.add(record["id"])
        self.items.append((where, record))

    def company(self, c: KybCompany, where: str) -> None:
        props = _props(
            name=c.name,
            jurisdiction=c.country,
            incorporationDate=c.incorporation_date,
            registrationNumber=c.registration_number,
            address=c.address,
            phone=c.phone,
            email=c.email,
        )
        self.add({"id": c.id, "schema": "Company", "properties": props}, where)
        self.owners(c.id, c.shareholders, f"{where}.shareholders")
        for i, p in enumerate(c.ubos):
            at = f"{where}.ubos[{i}]"
            role = f"ubo: {p.role}" if p.role else "ubo"
            self.link("UnknownLink", ("subject", self.party(p, at)), ("object", c.id), p, role, at)
        for i, p in enumerate(c.directors):
            at = f"{where}.directors[{i}]"
            pid = self.party(p, at)
            role = p.role or "director"
            self.link("Directorship", ("director", pid), ("organization", c.id), p, role, at)

    def owners(self, asset: str, parties: Iterable[KybParty], where: str) -> None:
        for i, p in enumerate(parties):
            at = f"{where}[{i}]"
            pid = self.party(p, at)
            self.link("Ownership", ("owner", pid), ("asset", asset), p, p.role, at)
            self.owners(pid, p.shareholders, f"{at}.shareholders")

    def party(self, p: KybParty, where: str) -> str:
        schema = p.schema
        pid = p.id or party_id(p.name, schema, p.country)
        country = "nationality" if schema == "Person" else "jurisdiction"
        props = _props(
            name=p.name,
            alias=p.name_kana,
            birthDate=_date(p.birth_date),
            incorporationDate=_date(p.incorporation_date),
            address=p.address,
            phone=p.phone,
            email=p.email,
        ) | _props(**{country: p.country})
        self.add({"id": pid, "schema": schema, "properties": props}, where)
        return pid

    def link(
        self,
        schema: str,
        holder: tuple[str, str],
        held: tuple[str, str],
        p: KybParty,
        role: str | None,
        where: str,
    ) -> None:
        """One relation record: ``holder`` and ``held`` are (FtM property, party id)."""
        props = {holder[0]: [holder[1]], held[0]: [held[1]]}
        props |= _props(role=role, startDate=p.start_date, endDate=p.end_date)
        if p.share is not None and schema == "Ownership":
            props |= _props(percentage=p.share)
        self.add({"id": f"{where}:{schema.lower()}", "schema": schema, "properties": props}, where)
