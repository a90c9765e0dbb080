"""The exchange's KYB data on corporate customers: CSV or FtM JSON lines, to FtM records.

Ids from the input are prefixed ``kyb:`` so they cannot collide with list ids; the input id
stays in the record's ``input_id`` (and ``Node.input_id``). In FtM input, a reference to an
id that no KYB record defines is kept as written, so KYB data can point at a list entity.
Each record carries ``origin`` (``file:line``) for messages; customers carry
``kyb_customer``. The CSV layout is documented in docs/network.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Collection, Iterable
from pathlib import Path

from sanctrace.countries import country_code
from sanctrace.errors import SanctraceError
from sanctrace.network.graph import COMPANY_SCHEMAS, Problem, is_iso_date
from sanctrace.network.shares import ShareError, parse_share

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


def input_id_of(node_id: str) -> str:
    """The id the KYB input used for a graph node id."""
    return node_id[len(PREFIX) :] if node_id.startswith(PREFIX) else node_id


def kyb_companies(records: list[dict]) -> list[str]:
    """Ids of the companies the input is about (the customers), in input order."""
    return list(dict.fromkeys(str(r["id"]) for r in records if r.get("kyb_customer")))


def read_kyb(paths: Iterable[Path | str]) -> tuple[list[dict], list[Problem]]:
    """FtM records and per-record problems from KYB files (FtM JSON lines or CSV)."""
    ftm_files: list[tuple[str, list[tuple[int, dict]]]] = []
    records: list[dict] = []
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
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise KybError(f"{path}: cannot read KYB file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise KybError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


# -- FtM JSON lines --------------------------------------------------------------------------


def _ftm_lines(name: str, text: str, problems: list[Problem]) -> list[tuple[int, dict]]:
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
    files: list[tuple[str, list[tuple[int, dict]]]], problems: list[Problem]
) -> list[dict]:
    items = [(f"{name}:{lineno}", data) for name, lines in files for lineno, data in lines]
    return records_from_ftm(items, problems)


def records_from_ftm(
    items: list[tuple[str, dict]],
    problems: list[Problem],
    customers: Collection[str] | None = None,
) -> list[dict]:
    """KYB records from FtM dicts, each given with where it came from ("file:12", "request:3").

    Ids get the ``kyb:`` prefix, and so do references to ids the input defines (others may
    name list entities). Companies are customers unless ``customers`` names which are. Bad
    records go to ``problems``; the rest is kept."""
    defined = {str(d["id"]) for _, d in items}
    out: list[dict] = []
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
        if data["schema"] == "Ownership":
            bad = _bad_percentage(props)
            if bad is not None:
                problems.append(
                    Problem(where, "percentage", f"{bad}; record skipped", str(data["id"]))
                )
                continue
        record = _record(data, props, where)
        if record["schema"] in COMPANY_SCHEMAS and (
            customers is None or record["input_id"] in customers
        ):
            record["kyb_customer"] = True
        out.append(record)
    return out


def _bad_percentage(props: dict) -> ShareError | None:
    for value in props.get("percentage", [])[:1]:
        try:
            parse_share(value)
        except ShareError as exc:
            return exc
    return None


def _record(data: dict, props: dict, where: str) -> dict:
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
        if not is_iso_date(value):
            self.problem(col, f"{value!r} is not an ISO date (YYYY-MM-DD); date ignored")
            return None
        return value

    def country(self, col: str) -> str | None:
        value = self.get(col)
        if not value:
            return None
        code = country_code(value)
        if code is None:
            self.problem(col, f"{value!r} is not a known country; ignored")
        return code


def _csv(name: str, text: str, problems: list[Problem]) -> list[dict]:
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
    nodes: dict[str, dict] = {}
    links: list[dict] = []
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


def _party_link(row: _Row, cid: str, nodes: dict[str, dict]) -> dict | None:
    ptype = row.get("party_type").casefold()
    schema = PARTY_TYPES.get(ptype)
    if schema is None:
        row.problem(
            "party_type",
            f"{ptype!r} is not person, company or organization; read as an unspecified entity",
        )
        schema = "LegalEntity"
    party = row.get("party_id")
    if not party:
        # Same name, type and country: the same party (KYB files often omit ids for people).
        key = "|".join((row.get("party_name").casefold(), schema, row.get("party_country")))
        party = "party-" + hashlib.sha1(key.encode()).hexdigest()[:12]  # noqa: S324 (an id)
    pid = PREFIX + party
    _merge(
        nodes,
        pid,
        schema,
        party,
        row.where,
        {
            "name": [row.get("party_name")],
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
    share = row.get("share")
    if share:
        try:
            parse_share(share)
        except ShareError as exc:
            row.problem("share", f"{exc}; relation skipped")
            return None
    role = row.get("role") or row.get("relation")
    if relation in ("ubo", "beneficial_owner"):
        role = "ubo" if not row.get("role") else f"ubo: {row.get('role')}"
    props = {
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


def _clean(props: dict[str, list]) -> dict[str, list[str]]:
    return {k: [str(v) for v in vs if v] for k, vs in props.items() if any(vs)}


def _merge(
    nodes: dict[str, dict],
    nid: str,
    schema: str,
    input_id: str,
    where: str,
    props: dict[str, list],
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
