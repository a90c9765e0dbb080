"""goAML XML for a case (the UNODC format many FIUs use; Japan does not).

One ``<report>`` (``report_code`` STR) with one ``<transaction>`` per crypto or fiat
transaction of the case, built with lxml in the element order of the goAML 5.0.2 schema:

* the customer is a ``t_account`` at the exchange (``account_type`` CRYWT, the crypto wallet
  account type; ``client_number`` the customer id) with its holder as ``signatory``
  (``t_person``) or ``t_entity``; a deposit's account is the deposit address;
* the counterparty is a ``t_account`` whose ``account`` is its **virtual address** (the
  withdrawal's destination, the deposit's originator wallet), hosted by the travel-rule VASP
  when known, with the listed entity under ``sanctions`` when the address is listed;
* ``from_/to_transaction_additional_info`` carries the **IP** (``network_device``) of the
  customer's withdrawal request, the ``virtual_address`` and the ``block_number`` when known
  (the schema requires a network device there, so it is written only with an IP);
* ``amount_local`` is the local-currency value when the transaction is in that currency, else
  0 — the events carry no valuation — and the amount in the asset is in ``from_foreign_currency``
  when the asset has an ISO 4217-style code (BTC → XBT), and always in the description.

The ``*_my_client`` variants are not used: they require KYC fields the exchange's events do not
carry (phones, identification issue and expiry dates, tax registration). Names go through
``anyascii`` into the schema's Latin pattern; the names in their own script go to
``full_name_frn``.

Every FIU publishes its own flavour of the schema: ``validate`` checks the file against the one
the user names, with an XSD 1.1 validator (``xmlschema.XMLSchema11``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from anyascii import anyascii
from lxml import etree

from sanctrace.cases.reports import (
    KIND_JA,
    CaseBundle,
    Reporter,
    load_case,
    load_reporter,
    record_report,
    write_bytes_atomic,
)
from sanctrace.errors import BadRequest, NotFound
from sanctrace.services.context import Context
from sanctrace.store.snapshots import now

__all__ = ["GoamlRequest", "GoamlResult", "build_xml", "validate", "write_goaml"]

_NAME_OK = re.compile(r"[^a-zA-Z0-9 .'-]+")
CRYPTO_CURRENCY = {"BTC": "XBT", "XBT": "XBT"}
TYPE_EN = {
    "deposit": "Crypto-asset deposit (received on chain)",
    "withdrawal": "Crypto-asset withdrawal (sent on chain)",
    "fiat_in": "Bank transfer in",
    "fiat_out": "Bank transfer out",
}


@dataclass(frozen=True)
class GoamlRequest:
    case_id: int
    out: Path
    xsd: Path | None = None
    reporter_file: Path | None = None
    user: str | None = None


@dataclass
class GoamlResult:
    case_id: int
    path: Path
    transactions: int
    validated_against: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "path": str(self.path),
            "transactions": self.transactions,
            "validated_against": self.validated_against,
        }


# --- values -----------------------------------------------------------------------------------


def latin(text: str | None, limit: int = 100, default: str = "Unknown") -> str:
    """``text`` in the schema's name pattern ``[a-zA-Z0-9 .'-]*``."""
    if not text:
        return default
    value = _NAME_OK.sub(" ", anyascii(text))
    value = " ".join(value.split())[:limit].strip()
    return value or default


def split_name(name: str) -> tuple[str, str]:
    """(first, last) of a Latin person name: ``TANAKA Hiroshi`` (family name in capitals
    first, the Japanese convention) or ``Hiroshi Tanaka``."""
    parts = latin(name).split()
    if len(parts) == 1:
        return parts[0], parts[0]
    if parts[0].isupper() and not parts[-1].isupper():
        return " ".join(parts[1:]), parts[0]
    return " ".join(parts[:-1]), parts[-1]


def sql_date(value: str | datetime | None) -> str:
    """A stored time as the schema's ``sql_date`` (``xs:dateTime``, UTC, no offset)."""
    if value is None:
        return "1753-01-01T00:00:00"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def birth_date(value: str | None) -> str | None:
    if not value or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    return f"{value}T00:00:00"


def decimal_text(value: str | None) -> str:
    try:
        number = Decimal(value or "0")
    except InvalidOperation:
        return "0"
    return format(number.quantize(Decimal(1)) if number == number.to_integral() else number, "f")


def _sub(parent: etree._Element, tag: str, text: Any = None) -> etree._Element:
    node = etree.SubElement(parent, tag)
    if text is not None:
        node.text = str(text)
    return node


# --- parties ----------------------------------------------------------------------------------


def _customer_names(bundle: CaseBundle) -> tuple[str, list[str]]:
    """(the Latin name, the names in other scripts)."""
    customer = bundle.customer or {}
    payload = (customer.get("latest_event") or {}).get("payload") or {}
    names = [
        n.get("text") or n.get("name") for n in payload.get("names") or customer.get("names") or []
    ]
    names = [n for n in names if n]
    ascii_names = [n for n in names if n == anyascii(n) and _NAME_OK.sub("", n).strip()]
    other = [n for n in names if n not in ascii_names]
    main = ascii_names[0] if ascii_names else (latin(names[0]) if names else bundle.case["subject"])
    return main, other


def _person(parent: etree._Element, tag: str, name: str, **extra: Any) -> None:
    node = _sub(parent, tag)
    first, last = split_name(name)
    _sub(node, "first_name", first)
    _sub(node, "last_name", last)
    if extra.get("birthdate"):
        _sub(node, "birthdate", extra["birthdate"])
    if extra.get("frn"):
        _sub(node, "full_name_frn", extra["frn"][:255])
    if extra.get("passport"):
        number, country = extra["passport"]
        _sub(node, "passport_number", number)
        _sub(node, "passport_country", country)
    if extra.get("nationality"):
        _sub(node, "nationality1", extra["nationality"])
    if extra.get("residence"):
        _sub(node, "residence", extra["residence"])
    if extra.get("sanctions"):
        _sanctions(node, extra["sanctions"])


def _sanctions(parent: etree._Element, refs: list[dict[str, Any]]) -> None:
    node = _sub(parent, "sanctions")
    for ref in refs:
        item = _sub(node, "sanction_list")
        _sub(item, "provider", str(ref["source"])[:255])
        _sub(
            item, "sanction_list_name", f"{ref['source']} {ref.get('version') or ''}".strip()[:255]
        )
        _sub(item, "match_criteria", "virtual address" if ref.get("address") else "name")
        _sub(
            item,
            "sanction_list_attributes",
            f"{ref.get('caption') or ''} [{ref['entity_id']}] snapshot {ref.get('snapshot_id')}",
        )


def _customer_account(
    parent: etree._Element, tag: str, bundle: CaseBundle, reporter: Reporter, account: str
) -> None:
    customer = bundle.customer or {}
    row = customer.get("row") or {}
    payload = (customer.get("latest_event") or {}).get("payload") or {}
    kind = payload.get("kind") or row.get("kind") or "person"
    name, other = _customer_names(bundle)
    node = _sub(parent, tag)
    _sub(node, "institution_name", reporter.name_latin[:255] or "Reporting entity")
    _sub(node, "institution_code", (reporter.registration_number or "-")[:50])
    _sub(node, "institution_country", reporter.country or "JP")
    _sub(node, "non_bank_institution", "true")
    _sub(node, "account", account[:255])
    _sub(node, "account_name", latin(name, 255))
    _sub(node, "client_number", str(bundle.case.get("customer_id") or "-")[:30])
    _sub(node, "account_type", "CRYWT")
    if kind == "company":
        entity = _sub(node, "t_entity")
        _sub(entity, "name", latin(name, 255))
        if payload.get("address_country") or payload.get("residence"):
            _sub(
                entity,
                "incorporation_country_code",
                payload.get("address_country") or payload.get("residence"),
            )
        if birth_date(payload.get("birth_date")):
            _sub(entity, "incorporation_date", birth_date(payload.get("birth_date")))
    else:
        signatory = _sub(node, "signatory")
        _sub(signatory, "is_primary", "true")
        passport = next(
            (
                (d["number"], d.get("country"))
                for d in payload.get("id_documents") or []
                if str(d.get("type")).lower() == "passport" and d.get("country")
            ),
            None,
        )
        _person(
            signatory,
            "t_person",
            name,
            birthdate=birth_date(payload.get("birth_date") or row.get("birth_date")),
            frn=" / ".join(other) or None,
            passport=passport,
            nationality=payload.get("nationality") or row.get("nationality"),
            residence=payload.get("residence") or row.get("residence"),
        )
    if row.get("created_at"):
        _sub(node, "opened", sql_date(row["created_at"]))
    _sub(node, "status_code", "A")


def _counterparty_account(
    parent: etree._Element,
    tag: str,
    address: str | None,
    party: dict[str, Any] | None,
    listed: list[dict[str, Any]],
) -> None:
    party = party or {}
    names = [n.get("text") for n in party.get("names") or [] if n.get("text")]
    node = _sub(parent, tag)
    _sub(node, "institution_name", latin(party.get("vasp"), 255, "Unhosted wallet"))
    _sub(node, "institution_code", latin(party.get("vasp"), 50, "UNHOSTED"))
    _sub(node, "account", (address or "unknown")[:255])
    _sub(node, "account_name", latin(names[0] if names else None, 255))
    _sub(node, "account_type", "CRYWT")
    if names:
        signatory = _sub(node, "signatory")
        other = [n for n in names if n != anyascii(n)]
        _person(signatory, "t_person", names[0], frn=" / ".join(other) or None)
    if listed:
        _sanctions(node, listed)
    comments = [f"Virtual address {address}" if address else "Virtual address not known"]
    if party.get("vasp"):
        comments.append(f"hosted by {party['vasp']}")
    _sub(node, "comments", "; ".join(comments))


def _additional_info(
    parent: etree._Element, tag: str, ip: str | None, address: str | None, block: Any
) -> None:
    """``transaction_additional_info_type``: written only with an IP (the schema requires the
    network device)."""
    if not ip:
        return
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return
    node = _sub(parent, tag)
    device = _sub(node, "network_device")
    ip_node = _sub(device, "ip_address")
    if parsed.version == 4:
        _sub(ip_node, "ipv4", str(parsed))
    else:
        _sub(ip_node, "ipv6", parsed.exploded)
    if block:
        _sub(node, "block_number", int(block))
    if address:
        _sub(node, "virtual_address", address[:255])


def _block_number(bundle: CaseBundle, event_id: str) -> int | None:
    for a in bundle.alerts_of_event(event_id):
        ev = a.get("evidence") or {}
        for key in ("block_number", "block", "height"):
            value = ev.get(key)
            if isinstance(value, int) and value > 0:
                return value
    return None


def _listed_for(bundle: CaseBundle, address: str | None) -> list[dict[str, Any]]:
    if not address:
        return []
    found: list[dict[str, Any]] = []
    for a in bundle.alerts:
        if a.get("subject") == address:
            found.extend(r for r in bundle.listed if r in _refs_of(bundle, a))
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in found:
        unique[(r["source"], r["entity_id"], r.get("snapshot_id"))] = r
    return list(unique.values())


def _refs_of(bundle: CaseBundle, alert: dict[str, Any]) -> list[dict[str, Any]]:
    from sanctrace.store.reports import listed_refs

    keys = {(r["source"], r["entity_id"]) for r in listed_refs(alert.get("evidence"))}
    return [r for r in bundle.listed if (r["source"], r["entity_id"]) in keys]


# --- the report -------------------------------------------------------------------------------


def _transaction(
    report: etree._Element, bundle: CaseBundle, reporter: Reporter, event: dict[str, Any]
) -> None:
    payload = event.get("payload") or {}
    local = str(reporter.goaml.get("currency_code_local", "JPY"))
    kind = event["type"]
    asset = (event.get("asset") or payload.get("currency") or "").upper()
    amount = event.get("amount") or payload.get("amount") or "0"
    node = _sub(report, "transaction")
    _sub(node, "transactionnumber", (payload.get("txid") or event["event_id"])[:100])
    _sub(node, "internal_ref_number", event["event_id"][:100])
    _sub(node, "transaction_location", f"{reporter.name_latin} (online)"[:255])
    description = f"{TYPE_EN.get(kind, kind)}: {amount} {asset}"
    if event.get("chain"):
        description += f" on {event['chain']}"
    if payload.get("txid"):
        description += f", txid {payload['txid']}"
        if payload.get("output_index") is not None:
            description += f":{payload['output_index']}"
    description += f" / {KIND_JA.get(kind, kind)}"
    _sub(node, "transaction_description", description)
    _sub(node, "date_transaction", sql_date(event["time"]))
    crypto = kind in ("deposit", "withdrawal")
    _sub(node, "transmode_code", "DAWLT" if crypto else "ELCFT")
    _sub(node, "transmode_comment", "E")
    _sub(node, "amount_local", decimal_text(amount) if asset == local else "0")
    funds = "CRPTC" if crypto else "ELCFT"
    foreign = CRYPTO_CURRENCY.get(asset) or (asset if not crypto and asset != local else None)

    def money(side: etree._Element, prefix: str) -> None:
        _sub(side, f"{prefix}_funds_code", funds)
        _sub(side, f"{prefix}_funds_comment", f"{amount} {asset}"[:255])

    def foreign_currency(side: etree._Element, prefix: str) -> None:
        if foreign:
            fc = _sub(side, f"{prefix}_foreign_currency")
            _sub(fc, "foreign_currency_code", foreign)
            _sub(fc, "foreign_amount", decimal_text(amount))

    customer_payload = ((bundle.customer or {}).get("latest_event") or {}).get("payload") or {}
    home = customer_payload.get("residence") or customer_payload.get("address_country") or "-"
    block = _block_number(bundle, event["event_id"])
    if kind == "withdrawal":
        party = payload.get("beneficiary")
        src = _sub(node, "t_from")
        money(src, "from")
        _additional_info(src, "from_transaction_additional_info", payload.get("ip"), None, block)
        foreign_currency(src, "from")
        _customer_account(
            src, "from_account", bundle, reporter, str(bundle.case.get("customer_id") or "-")
        )
        _sub(src, "from_country", home)
        dst = _sub(node, "t_to")
        money(dst, "to")
        foreign_currency(dst, "to")
        _counterparty_account(
            dst,
            "to_account",
            event.get("address"),
            party,
            _listed_for(bundle, event.get("address")),
        )
        _sub(dst, "to_country", (party or {}).get("country") or "-")
    elif kind == "deposit":
        party = payload.get("originator")
        wallet = (party or {}).get("wallet")
        src = _sub(node, "t_from")
        money(src, "from")
        foreign_currency(src, "from")
        _counterparty_account(src, "from_account", wallet, party, _listed_for(bundle, wallet))
        _sub(src, "from_country", (party or {}).get("country") or "-")
        dst = _sub(node, "t_to")
        money(dst, "to")
        foreign_currency(dst, "to")
        _customer_account(dst, "to_account", bundle, reporter, str(event.get("address") or "-"))
        _sub(dst, "to_country", home)
    else:  # fiat: the customer's account and the named counterparty
        other = {
            "names": [{"text": payload["counterparty_name"]}]
            if payload.get("counterparty_name")
            else []
        }
        inbound = kind == "fiat_in"
        src = _sub(node, "t_from")
        money(src, "from")
        foreign_currency(src, "from")
        if inbound:
            _bank_party(src, "from_entity", payload.get("counterparty_name"))
            _sub(src, "from_country", payload.get("bank_country") or "-")
        else:
            _customer_account(
                src, "from_account", bundle, reporter, str(bundle.case.get("customer_id") or "-")
            )
            _sub(src, "from_country", home)
        dst = _sub(node, "t_to")
        money(dst, "to")
        foreign_currency(dst, "to")
        if inbound:
            _customer_account(
                dst, "to_account", bundle, reporter, str(bundle.case.get("customer_id") or "-")
            )
            _sub(dst, "to_country", home)
        else:
            _bank_party(dst, "to_entity", payload.get("counterparty_name"))
            _sub(dst, "to_country", payload.get("bank_country") or "-")
        del other
    comments = [a["summary"] for a in bundle.alerts_of_event(event["event_id"])]
    if comments:
        _sub(node, "comments", "\n".join(comments)[:8000])


def _bank_party(parent: etree._Element, tag: str, name: str | None) -> None:
    entity = _sub(parent, tag)
    _sub(entity, "name", latin(name, 255))
    if name and name != anyascii(name):
        _sub(entity, "comments", f"Name as written: {name}")


def build_xml(bundle: CaseBundle, reporter: Reporter) -> bytes:
    """The goAML report of a case, as UTF-8 XML bytes."""
    g = reporter.goaml
    report = etree.Element("report")
    _sub(report, "schema_version", str(g.get("schema_version", "5.0.2")))
    _sub(report, "rentity_id", int(g.get("rentity_id", 1)))
    if g.get("rentity_branch"):
        _sub(report, "rentity_branch", str(g["rentity_branch"])[:255])
    _sub(report, "submission_code", str(g.get("submission_code", "E")))
    _sub(report, "report_code", str(g.get("report_code", "STR")))
    _sub(report, "entity_reference", f"SANCTRACE-CASE-{bundle.case_id}")
    _sub(report, "submission_date", sql_date(now()))
    _sub(report, "currency_code_local", str(g.get("currency_code_local", "JPY")))
    if reporter.officer_latin:
        person = _sub(report, "reporting_person")
        first, last = split_name(reporter.officer_latin)
        _sub(person, "first_name", first)
        _sub(person, "last_name", last)
        if reporter.email:
            _sub(person, "email", reporter.email)
        occupation = str(g.get("occupation", "Compliance officer"))
        _sub(person, "occupation", occupation[:255])
    reason = [f"{a['rule']}: {a['summary']}" for a in bundle.alerts]
    for ref in bundle.listed:
        reason.append(
            f"Listed: {ref.get('caption') or ''} [{ref['entity_id']}] on {ref['source']} "
            f"(version {ref.get('version') or 'n/a'}, snapshot {ref.get('snapshot_id')})"
        )
    _sub(report, "reason", "\n".join(reason)[:8000])
    action = [f"Case {bundle.case_id}: {bundle.case['state']}"]
    if bundle.case.get("disposition"):
        action.append(
            f"disposition {bundle.case['disposition']}: {bundle.case.get('reason') or ''}"
        )
    for h in bundle.holds:
        action.append(f"{h['kind']} {h['event_id']} {h['state']}")
    _sub(report, "action", "; ".join(action)[:8000])
    txs = [
        e for e in bundle.events if e["type"] in ("deposit", "withdrawal", "fiat_in", "fiat_out")
    ]
    if not txs:
        raise BadRequest(f"case {bundle.case_id}: no transactions to report in goAML")
    for event in txs:
        _transaction(report, bundle, reporter, event)
    indicators = _sub(report, "report_indicators")
    for code in g.get("indicators", ["TFS03"]):
        _sub(indicators, "indicator", str(code))
    return etree.tostring(report, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def validate(xml: bytes, xsd: Path) -> None:
    """Validate against an FIU's goAML schema (XSD 1.1); ``BadRequest`` names the first error."""
    import xmlschema

    if not xsd.exists():
        raise NotFound(f"{xsd}: no such schema file")
    try:
        schema = xmlschema.XMLSchema11(str(xsd))
    except xmlschema.XMLSchemaException as exc:
        raise BadRequest(f"{xsd}: not a usable XSD: {str(exc).splitlines()[0]}") from None
    errors = list(schema.iter_errors(etree.fromstring(xml)))
    if errors:
        first = errors[0]
        where = getattr(first, "path", None) or ""
        reason = getattr(first, "reason", None) or str(first).splitlines()[0]
        raise BadRequest(f"goAML file not valid against {xsd.name}: {where}: {reason}")


def write_goaml(ctx: Context, request: GoamlRequest) -> GoamlResult:
    """Build a case's goAML XML, validate it when an XSD is named, and write it atomically."""
    bundle = load_case(ctx, request.case_id)
    reporter = load_reporter(ctx, request.reporter_file)
    xml = build_xml(bundle, reporter)
    if request.xsd is not None:
        validate(xml, request.xsd)
    write_bytes_atomic(request.out, xml)
    record_report(
        ctx,
        kind="goaml",
        case_id=request.case_id,
        actor=request.user,
        after={"file": request.out.name, "xsd": request.xsd.name if request.xsd else None},
    )
    count = sum(1 for _ in etree.fromstring(xml).iterchildren("transaction"))
    return GoamlResult(
        request.case_id, request.out, count, str(request.xsd) if request.xsd else None
    )
