"""The console's case page (``/cases/{case_id}``): the customer, each alert with its evidence
drawn (names side by side with the matched parts marked, exposure paths, ownership chains, the
events behind rule hits), comments, attachments, the disposition and its four-eyes approval,
and the case's audit records.

Every form posts with the session's CSRF token to ``/cases/{id}/<action>`` and, when the
service accepts it, is sent back to the page (303) with a message; a refusal of the service
(``Forbidden``, ``Conflict``, ``BadRequest``, ``NotFound``) is shown on the page with its
status, never as a crash.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from sanctrace.cases import cases, customer_view
from sanctrace.cases.auth import Forbidden, Permission, Principal
from sanctrace.errors import BadRequest, Conflict, NotFound, SanctraceError
from sanctrace.services.context import Context
from sanctrace.services.exposure import unit_of
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = [
    "AlertView",
    "Note",
    "alert_view",
    "explain_match",
    "highlight",
    "matched_tokens",
    "router",
]

# --- labels (English source text; Japanese in locale/ja/case.po) --------------------------------
STATE_LABELS = {
    "open": "Open, not started",
    "in_review": "In review",
    "pending_approval": "Waiting for approval",
    "closed": "Closed",
    "reopened": "Reopened",
}
DISPOSITION_LABELS = {
    "true_match": "True match",
    "false_positive": "False positive",
    "not_sanctions_related": "Not sanctions related",
    "escalated": "Escalated to the MLRO",
}
SEVERITY_LABELS = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
RULE_LABELS = {
    "name_match": "Name match",
    "sanctioned_address": "Sanctioned address",
    "sanctioned_vasp": "Sanctioned VASP",
    "indirect_exposure": "Indirect exposure",
    "mining_origin": "Mining origin",
    "sanctioned_jurisdiction_ip": "Sanctioned jurisdiction (IP)",
    "jurisdiction_mismatch": "Jurisdiction mismatch",
    "pass_through": "Pass-through",
    "structuring": "Structuring",
    "company_ownership": "Ownership",
    "missing": "Rule not evaluated",
}
ACTION_LABELS = {"alert": "Alert", "hold": "Hold", "block": "Block", "allow": "Allow"}
NAME_KIND_LABELS = {
    "legal": "Legal name",
    "reading": "Reading (kana)",
    "kana": "Reading (kana)",
    "latin": "Latin spelling",
    "alias": "Alias",
}
KYC_LABELS = {
    "birth_date": "Date of birth",
    "incorporated": "Incorporated",
    "nationality": "Nationality",
    "residence": "Residence",
    "country": "Country",
    "address_country": "Country of address",
    "phone_country": "Country of phone number",
}
EVENT_LABELS = {
    "customer": "Customer data",
    "wallet": "Wallet",
    "login": "Login",
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "fiat_in": "Fiat deposit",
    "fiat_out": "Fiat withdrawal",
}
KIND_LABELS = {"person": "Person", "company": "Company"}
SCRIPT_LABELS = {
    "Latin": "Latin script",
    "Katakana": "Katakana",
    "Hiragana": "Hiragana",
    "Han": "Kanji (Han)",
    "Japanese": "Japanese (mixed)",
    "Cyrillic": "Cyrillic",
    "Arabic": "Arabic script",
    "Hangul": "Hangul",
    "Greek": "Greek",
    "Hebrew": "Hebrew",
    "Thai": "Thai",
    "Devanagari": "Devanagari",
}
DONE = {
    "assigned": "The case was assigned.",
    "commented": "Your comment was added.",
    "attached": "The evidence was attached.",
    "closed": "The case was closed.",
    "pending": "The case now waits for a second person to approve it.",
    "approved": "The decision was approved and the case is closed.",
    "reopened": "The case was reopened.",
}
ERROR_TITLES: dict[type[SanctraceError], str] = {
    Forbidden: "Not allowed",
    Conflict: "Not possible in the case's current state",
    BadRequest: "Please check the form",
    NotFound: "Not found",
}


# --- names side by side -------------------------------------------------------------------------
_PAIR = re.compile(r"'([^']*)'≈'([^']*)' (\d+(?:\.\d+)?)")
_QUOTED = re.compile(r"'([^']*)'( \(optional\))?")
_SEPARATORS = re.compile(r"([\s,，、・=＝;；/()（）\[\]「」\"]+)")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def matched_tokens(explanation: str) -> tuple[set[str], set[str]]:
    """The tokens the scorer aligned, as (customer's side, list's side), from the match's
    explanation (``tokens 'igor'≈'igor' 1.00, …``)."""
    query: set[str] = set()
    listed: set[str] = set()
    for q, c, _score in _PAIR.findall(explanation or ""):
        query.add(_fold(q))
        listed.add(_fold(c))
    return query, listed


def highlight(text: str, tokens: set[str]) -> Markup:
    """``text`` escaped, its words among ``tokens`` (folded) wrapped in ``<mark>``."""
    out: list[str] = []
    for part in _SEPARATORS.split(text or ""):
        if not part:
            continue
        folded = _fold(part)
        pieces = {_fold(t) for t in customer_view.name_tokens(part)} | {
            folded,
            folded.replace(".", ""),
        }
        if not _SEPARATORS.fullmatch(part) and pieces & tokens:
            out.append(f"<mark>{escape(part)}</mark>")
            continue
        # A name written without spaces (金正恩) aligned syllable by syllable.
        inner = sorted((t for t in tokens if t and not t.isascii() and t in part), key=len)
        if inner and folded == part:
            pattern = re.compile("|".join(re.escape(t) for t in reversed(inner)))
            last = 0
            for m in pattern.finditer(part):
                out.append(str(escape(part[last : m.start()])))
                out.append(f"<mark>{escape(m.group(0))}</mark>")
                last = m.end()
            out.append(str(escape(part[last:])))
            continue
        out.append(str(escape(part)))
    return Markup("".join(out))


@dataclass(frozen=True)
class Note:
    """One sentence of a match's explanation: an English message id and its values."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)


_NOTES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^birth date (?P<value>\S+) matches \((?P<delta>[^)]*)\)$"),
        "The date of birth %(value)s is the same on the list (%(delta)s).",
    ),
    (
        re.compile(r"^birth year (?P<value>\S+) matches \((?P<delta>[^)]*)\)$"),
        "The year of birth %(value)s is the same on the list (%(delta)s).",
    ),
    (
        re.compile(r"^birth year (?P<value>\S+) differs from (?P<other>.*) \((?P<delta>[^)]*)\)$"),
        "The year of birth %(value)s differs from the list's %(other)s (%(delta)s).",
    ),
    (
        re.compile(r"^country (?P<value>\S+) matches \((?P<delta>[^)]*)\)$"),
        "The country %(value)s is the same on the list (%(delta)s).",
    ),
    (
        re.compile(r"^country (?P<value>\S+) differs \((?P<delta>[^)]*)\)$"),
        "The country %(value)s differs from the list (%(delta)s).",
    ),
    (
        re.compile(r"^identifier (?P<value>.+) matches$"),
        "The identifier %(value)s is on the list entry.",
    ),
    (re.compile(r"^legal forms differ \((?P<value>.*)\)$"), "The legal forms differ (%(value)s)."),
    (
        re.compile(r"^weak alias \((?P<value>[^)]*)\)$"),
        "The list gives this name as a weak alias, so it counts less (%(value)s).",
    ),
    (
        re.compile(r"^via the (?P<via>\w+) '(?P<value>.*)'$"),
        "Compared through the %(via)s «%(value)s».",
    ),
    (
        re.compile(r"^as one string (?P<value>[\d.]+)$"),
        "Compared as one string, without spaces: similarity %(value)s.",
    ),
    (
        re.compile(r"^tokens differ on both sides \((?P<value>[^)]*)\)$"),
        "Some words differ on both sides (%(value)s).",
    ),
    (re.compile(r"^no aligned tokens$"), "No word of the two names could be paired."),
]


def explain_match(match: Mapping[str, Any]) -> list[Note]:
    """The match's score and its features, and its explanation, in sentences."""
    notes: list[Note] = []
    score = match.get("score")
    if isinstance(score, int | float):
        notes.append(Note("Overall score %(score)s (1.00 is certain).", {"score": f"{score:.2f}"}))
    features = match.get("features") or {}
    if isinstance(features.get("name"), int | float):
        notes.append(
            Note(
                "The names alone are %(value)s similar (1.00: the same words).",
                {"value": f"{features['name']:.2f}"},
            )
        )
    if isinstance(features.get("evidence"), int | float):
        delta = float(features["evidence"])
        if delta:
            notes.append(
                Note(
                    "Date of birth, country and identifiers moved the score by %(value)s.",
                    {"value": f"{delta:+.2f}"},
                )
            )
        else:
            notes.append(Note("Date of birth, country and identifiers did not change the score."))
    for part in str(match.get("explanation") or "").split("; "):
        part = part.strip()
        if not part:
            continue
        if part.startswith("tokens "):
            for q, c, s in _PAIR.findall(part):
                notes.append(
                    Note(
                        "«%(query)s» in the customer's name matches «%(listed)s» in the listed "
                        "name (similarity %(value)s).",
                        {"query": q, "listed": c, "value": s},
                    )
                )
            continue
        if part.startswith("not in list name: "):
            words = ", ".join(w for w, _ in _QUOTED.findall(part))
            notes.append(Note("Only in the customer's name: %(words)s.", {"words": words}))
            continue
        if part.startswith("only in list name: "):
            found = _QUOTED.findall(part)
            words = ", ".join(w for w, _ in found)
            optional = all(o for _, o in found)
            notes.append(
                Note(
                    "Only in the listed name: %(words)s (a patronymic or particle: counts little)."
                    if optional
                    else "Only in the listed name: %(words)s.",
                    {"words": words},
                )
            )
            continue
        for pattern, message in _NOTES:
            m = pattern.match(part)
            if m:
                notes.append(Note(message, m.groupdict()))
                break
        else:
            notes.append(Note("%(text)s", {"text": part}))
    return notes


# --- evidence drawn -------------------------------------------------------------------------------
def _amount(value: Any, chain: str | None) -> str:
    """Base units as the coin's usual unit when the chain says how (8 decimals for BTC)."""
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        return ""
    if chain:
        unit = unit_of(chain)
        if unit.decimals is not None:
            try:
                amount = Decimal(str(value)).scaleb(-unit.decimals).normalize()
            except ArithmeticError:
                return str(value)
            return f"{amount:f} {unit.symbol}"
    return str(value)


def _paths(evidence: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = []
    if isinstance(evidence.get("path"), Mapping):
        found.append(evidence["path"])
    found.extend(p for p in evidence.get("paths") or [] if isinstance(p, Mapping))
    return found


@dataclass
class AlertView:
    """An alert as the page draws it: ``kind`` picks the drawing."""

    alert: cases.CaseAlertOut
    kind: str  # name | exposure | ownership | address | rule
    match: Mapping[str, Any] | None = None
    query_html: Markup | None = None
    listed_html: Markup | None = None
    notes: list[Note] = field(default_factory=list)
    names: list[Mapping[str, Any]] = field(default_factory=list)
    exposure_paths: list[dict[str, Any]] = field(default_factory=list)
    ownership_paths: list[Mapping[str, Any]] = field(default_factory=list)
    listings: list[Mapping[str, Any]] = field(default_factory=list)
    events: list[customer_view.ActivityOut] = field(default_factory=list)
    evidence_json: str = ""


def _exposure_path(path: Mapping[str, Any], chain: str | None) -> dict[str, Any]:
    steps = []
    for i, step in enumerate(path.get("steps") or []):
        if not isinstance(step, Mapping):
            continue
        tags = [str(t) for t in step.get("tags") or []]
        steps.append(
            {
                "hop": i,
                "txid": step.get("txid"),
                "output_index": step.get("output_index"),
                "address": step.get("address"),
                "amount": _amount(step.get("amount"), chain),
                "tags": tags,
                "flagged": bool(tags),  # a flagged address or a stop: the label says which
            }
        )
    return {
        "hops": path.get("hops"),
        "value": _amount(path.get("value"), chain),
        "steps": steps,
    }


def alert_view(ctx: Context, alert: cases.CaseAlertOut) -> AlertView:
    """What the page shows of one alert."""
    evidence: Mapping[str, Any] = alert.evidence or {}
    view = AlertView(
        alert=alert,
        kind="rule",
        evidence_json=json.dumps(evidence, ensure_ascii=False, indent=2, default=str),
    )
    match = evidence.get("match")
    if isinstance(match, Mapping) and ("query_name" in match or "matched_name" in match):
        query_tokens, listed_tokens = matched_tokens(str(match.get("explanation") or ""))
        view.kind = "name"
        view.match = match
        view.query_html = highlight(str(match.get("query_name") or ""), query_tokens)
        view.listed_html = highlight(str(match.get("matched_name") or ""), listed_tokens)
        view.notes = explain_match(match)
        view.names = [n for n in evidence.get("names") or [] if isinstance(n, Mapping)]
    paths = _paths(evidence)
    ownership = [p for p in paths if p.get("kind") in ("ownership", "listed", "control")]
    exposure = [p for p in paths if isinstance(p.get("steps"), list) and p not in ownership]
    if ownership:
        view.kind = "ownership" if view.kind == "rule" else view.kind
        view.ownership_paths = ownership
    if exposure:
        chain = evidence.get("chain") or _chain_of(evidence)
        view.kind = "exposure" if view.kind == "rule" else view.kind
        view.exposure_paths = [_exposure_path(p, chain) for p in exposure]
    listings = [
        m
        for key in ("matches", "hits", "by_entity")
        for m in evidence.get(key) or []
        if isinstance(m, Mapping)
    ]
    if isinstance(evidence.get("hit"), Mapping):
        listings.append(evidence["hit"])
    view.listings = listings
    if view.kind == "rule" and listings:
        view.kind = "address"
    view.events = customer_view.events_by_id(
        ctx, customer_view.evidence_event_ids(evidence, alert.event_id)
    )
    return view


def _chain_of(evidence: Mapping[str, Any]) -> str | None:
    subject = str(evidence.get("subject") or "")
    basis = evidence.get("basis")
    if isinstance(basis, Mapping) and isinstance(basis.get("chain"), str):
        return str(basis["chain"])
    return "btc" if subject.startswith(("tx:", "output:")) else None


# --- the page -------------------------------------------------------------------------------------
def _error_title(error: SanctraceError) -> str:
    for kind, title in ERROR_TITLES.items():
        if isinstance(error, kind):
            return title
    return "This did not work"


def _render(
    ctx: Context,
    request: Request,
    principal: Principal,
    case_id: int,
    *,
    error: SanctraceError | None = None,
) -> HTMLResponse:
    case = cases.show_case(ctx, case_id)
    customer = customer_view.customer_view(ctx, case.customer_id) if case.customer_id else None
    done = request.query_params.get("done")
    return page(
        request,
        "case.html",
        status_code=error.http_status if error is not None else 200,
        case=case,
        customer=customer,
        alerts=[alert_view(ctx, a) for a in case.alerts],
        audit_records=customer_view.case_audit(
            ctx, case_id, [s.suppression_id for s in case.suppressions]
        ),
        done=DONE.get(done or ""),
        error=error,
        error_title=_error_title(error) if error is not None else None,
        can_work=principal.can(Permission.WORK),
        can_approve=principal.can(Permission.APPROVE),
        dispositions=cases.DISPOSITIONS,
        labels={
            "state": STATE_LABELS,
            "disposition": DISPOSITION_LABELS,
            "severity": SEVERITY_LABELS,
            "rule": RULE_LABELS,
            "action": ACTION_LABELS,
            "name_kind": NAME_KIND_LABELS,
            "kyc": KYC_LABELS,
            "event": EVENT_LABELS,
            "kind": KIND_LABELS,
            "script": SCRIPT_LABELS,
        },
    )


def _act(
    ctx: Context,
    request: Request,
    principal: Principal,
    case_id: int,
    action: Callable[[], Any],
    done: Callable[[Any], str] | str,
) -> Response:
    """Run a service action; back to the page with a message, or the page with the refusal."""
    try:
        result = action()
    except (Forbidden, Conflict, BadRequest) as exc:
        return _render(ctx, request, principal, case_id, error=exc)
    code = done(result) if callable(done) else done
    return RedirectResponse(f"/cases/{case_id}?done={code}#messages", status_code=303)


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    reader = page_requires(Permission.READ)
    worker = page_requires(Permission.WORK)
    approver = page_requires(Permission.APPROVE)

    @router.get("/cases/{case_id}", response_class=HTMLResponse)
    def show(request: Request, case_id: int, principal: Principal = reader) -> HTMLResponse:
        return _render(ctx, request, principal, case_id)

    @router.post("/cases/{case_id}/assign", response_model=None)
    def assign(
        request: Request,
        case_id: int,
        to: Annotated[str, Form()] = "",
        principal: Principal = worker,
    ) -> Response:
        who = to.strip() or principal.name
        return _act(
            ctx,
            request,
            principal,
            case_id,
            lambda: cases.assign_case(ctx, principal, case_id, who),
            "assigned",
        )

    @router.post("/cases/{case_id}/comment", response_model=None)
    def comment(
        request: Request,
        case_id: int,
        text: Annotated[str, Form()] = "",
        principal: Principal = worker,
    ) -> Response:
        return _act(
            ctx,
            request,
            principal,
            case_id,
            lambda: cases.comment_case(ctx, principal, case_id, text),
            "commented",
        )

    @router.post("/cases/{case_id}/attach", response_model=None)
    def attach(
        request: Request,
        case_id: int,
        name: Annotated[str, Form()] = "",
        content: Annotated[str, Form()] = "",
        principal: Principal = worker,
    ) -> Response:
        def action() -> Any:
            try:
                value = json.loads(content)
            except ValueError as exc:
                raise BadRequest(f"content: not JSON ({exc})") from exc
            return cases.attach_evidence(ctx, principal, case_id, name, value)

        return _act(ctx, request, principal, case_id, action, "attached")

    @router.post("/cases/{case_id}/close", response_model=None)
    def close(
        request: Request,
        case_id: int,
        disposition: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        suppress: Annotated[str, Form()] = "",
        principal: Principal = worker,
    ) -> Response:
        return _act(
            ctx,
            request,
            principal,
            case_id,
            lambda: cases.close_case(
                ctx, principal, case_id, disposition, reason, suppress=bool(suppress)
            ),
            lambda out: "pending" if out.state == "pending_approval" else "closed",
        )

    @router.post("/cases/{case_id}/approve", response_model=None)
    def approve(
        request: Request,
        case_id: int,
        reason: Annotated[str, Form()] = "",
        principal: Principal = approver,
    ) -> Response:
        return _act(
            ctx,
            request,
            principal,
            case_id,
            lambda: cases.approve_case(ctx, principal, case_id, reason or None),
            "approved",
        )

    @router.post("/cases/{case_id}/reopen", response_model=None)
    def reopen(
        request: Request,
        case_id: int,
        reason: Annotated[str, Form()] = "",
        principal: Principal = worker,
    ) -> Response:
        return _act(
            ctx,
            request,
            principal,
            case_id,
            lambda: cases.reopen_case(ctx, principal, case_id, reason),
            "reopened",
        )

    return router
