"""The rules file: the packaged ``rules.yml`` with the user's file merged over it, checked.

The packaged file is also the schema: a rule id, key or parameter it does not name is unknown,
and a parameter takes the type of its packaged default (docs/monitoring.md has the format).
Every problem is a ``BadRequest`` naming the file and the key, e.g.
``my-rules.yml: rules.indirect_exposure.params.hops: expected an integer, got 'five'``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from sanctrace.errors import BadRequest
from sanctrace.monitor.events import EVENT_TYPES
from sanctrace.monitor.rules.base import Action, RuleConfig, Severity

__all__ = [
    "PACKAGED",
    "CustomConfig",
    "EffectiveRules",
    "ParamError",
    "load_config",
    "resolve_file",
    "version_of",
]

PACKAGED = Path(__file__).with_name("rules.yml")
RULE_KEYS = ("enabled", "severity", "action", "params")
CUSTOM_KEYS = ("id", "enabled", "severity", "action", "events", "expression", "explanation")
_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


class ParamError(ValueError):
    """A parameter a rule refuses (raised by a rule's ``check_params``), naming the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class CustomConfig:
    """One custom rule: an expression over an event and its aggregates."""

    id: str
    expression: str
    events: tuple[str, ...]
    explanation_en: str
    explanation_ja: str
    enabled: bool = True
    severity: str = Severity.MEDIUM
    action: str = Action.ALERT


@dataclass(frozen=True)
class EffectiveRules:
    """The merged rules: built-in rule configs by id, custom rules, where each key came from,
    the effective document and its version (sha256 of its canonical JSON)."""

    rules: dict[str, RuleConfig]
    custom: list[CustomConfig]
    document: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)
    custom_origins: dict[str, tuple[str, str]] = field(default_factory=dict)  # id: (file, key)
    user_file: Path | None = None

    @property
    def version(self) -> str:
        return version_of(self.document)

    def origin(self, key: str) -> str:
        """The file that set ``key`` (or the closest key above it)."""
        while key:
            if key in self.origins:
                return self.origins[key]
            key = key.rpartition("[")[0] if key.endswith("]") else key.rpartition(".")[0]
        return str(PACKAGED)


def version_of(document: dict[str, Any]) -> str:
    """sha256 of the document as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"{path}: cannot read the rules file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        raise BadRequest(f"{path}: {where}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadRequest(f"{path}: the rules file must be a mapping with 'rules' and 'custom'")
    unknown = sorted(set(data) - {"version", "rules", "custom"})
    if unknown:
        raise BadRequest(f"{path}: {unknown[0]}: unknown key (expected version, rules, custom)")
    if data.get("version", 1) != 1:
        raise BadRequest(f"{path}: version: {data.get('version')!r} is not supported (1)")
    return data


def _mapping(value: Any, file: Path, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{file}: {key}: expected a mapping, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)


def _typed(value: Any, default: Any, file: Path, key: str) -> Any:
    """``value`` checked against the type of ``default`` (and converted where lossless)."""

    def bad(expected: str) -> BadRequest:
        return BadRequest(f"{file}: {key}: expected {expected}, got {_show(value)}")

    if default is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        return float(value)
    if isinstance(default, str):
        if _DECIMAL.match(default):
            # Amounts are decimal strings, kept exact; an integer is taken as written, a float
            # is refused because YAML has already rounded it.
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise bad("a decimal number as a quoted string (e.g. '0.5')")
            try:
                Decimal(value)
            except InvalidOperation:
                raise bad("a decimal number as a quoted string (e.g. '0.5')") from None
            if not _DECIMAL.match(value):
                raise bad("a decimal number as a quoted string (e.g. '0.5')")
            return value
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if isinstance(default, list):
        if not isinstance(value, list):
            raise bad("a list")
        if default:
            return [_typed(v, default[0], file, f"{key}[{i}]") for i, v in enumerate(value)]
        return value
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise bad("a mapping")
        sample = next(iter(default.values()), None)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise BadRequest(f"{file}: {key}: keys must be strings, got {_show(k)}")
            out[k] = _typed(v, default.get(k, sample), file, f"{key}.{k}")
        return out
    return value


def _choice(value: Any, allowed: type[Action] | type[Severity], file: Path, key: str) -> str:
    choices = [str(a) for a in allowed]
    if value not in choices:
        raise BadRequest(f"{file}: {key}: {_show(value)} is not one of {', '.join(choices)}")
    return str(value)


def _merge_rule(
    base: dict[str, Any], over: dict[str, Any], file: Path, rid: str, origins: dict[str, str]
) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        key = f"rules.{rid}.{k}"
        if k not in RULE_KEYS:
            raise BadRequest(f"{file}: {key}: unknown key (expected {', '.join(RULE_KEYS)})")
        if k == "params":
            params = out.setdefault("params", {})
            for pk, pv in _mapping(v, file, key).items():
                pkey = f"{key}.{pk}"
                if pk not in base.get("params", {}):
                    known = ", ".join(sorted(base.get("params", {}))) or "none"
                    raise BadRequest(f"{file}: {pkey}: unknown parameter (known: {known})")
                default = base["params"][pk]
                typed = _typed(pv, default, file, pkey)
                if isinstance(default, dict) and isinstance(typed, dict):
                    typed = {**params.get(pk, {}), **typed}  # per key: override one asset
                params[pk] = _resolve(pk, typed, file)
                origins[pkey] = str(file)
        else:
            out[k] = v
            origins[key] = str(file)
    return out


def _resolve(name: str, value: Any, file: Path) -> Any:
    """A relative ``*_file`` parameter is relative to the file that set it."""
    if name.endswith("_file") and isinstance(value, str) and value:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (file.parent / path).resolve())
    return value


def _rule_config(rid: str, entry: dict[str, Any], eff: dict[str, str]) -> RuleConfig:
    def where(k: str) -> Path:
        return Path(eff.get(f"rules.{rid}.{k}", str(PACKAGED)))

    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise BadRequest(f"{where('enabled')}: rules.{rid}.enabled: expected true or false")
    return RuleConfig(
        id=rid,
        enabled=enabled,
        severity=_choice(
            entry.get("severity", "medium"), Severity, where("severity"), f"rules.{rid}.severity"
        ),
        action=_choice(
            entry.get("action", "alert"), Action, where("action"), f"rules.{rid}.action"
        ),
        params=dict(entry.get("params") or {}),
    )


def _custom(entry: Any, file: Path, at: str, builtin: set[str]) -> dict[str, Any]:
    """One custom entry checked for shape (the expression is compiled by ``custom.py``)."""
    entry = _mapping(entry, file, at)
    for k in entry:
        if k not in CUSTOM_KEYS:
            raise BadRequest(f"{file}: {at}.{k}: unknown key (expected {', '.join(CUSTOM_KEYS)})")
    rid = entry.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise BadRequest(
            f"{file}: {at}.id: {_show(rid)} is not an id (lower case letters, digits and _)"
        )
    if rid in builtin:
        raise BadRequest(f"{file}: {at}.id: {rid!r} is a built-in rule's id")
    return entry


def _custom_config(entry: dict[str, Any], file: Path, at: str) -> CustomConfig:
    rid = entry["id"]
    events = entry.get("events")
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list) or not events:
        raise BadRequest(f"{file}: {at}.events: expected a list of event types")
    for e in events:
        if e not in EVENT_TYPES:
            raise BadRequest(
                f"{file}: {at}.events: {_show(e)} is not one of {', '.join(EVENT_TYPES)}"
            )
    expression = entry.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise BadRequest(f"{file}: {at}.expression: expected a CEL expression (a string)")
    explanation = _mapping(entry.get("explanation"), file, f"{at}.explanation")
    for lang in ("en", "ja"):
        if not isinstance(explanation.get(lang), str) or not explanation[lang].strip():
            raise BadRequest(f"{file}: {at}.explanation.{lang}: expected a text")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise BadRequest(f"{file}: {at}.enabled: expected true or false")
    return CustomConfig(
        id=rid,
        expression=expression,
        events=tuple(dict.fromkeys(events)),
        explanation_en=explanation["en"].strip(),
        explanation_ja=explanation["ja"].strip(),
        enabled=enabled,
        severity=_choice(entry.get("severity", "medium"), Severity, file, f"{at}.severity"),
        action=_choice(entry.get("action", "alert"), Action, file, f"{at}.action"),
    )


def load_config(path: Path | None = None, packaged: Path = PACKAGED) -> EffectiveRules:
    """The packaged rules with the file at ``path`` merged over them per rule id."""
    base = _read(packaged)
    base_rules = _mapping(base.get("rules"), packaged, "rules")
    builtin = set(base_rules)
    origins: dict[str, str] = {}
    rules: dict[str, dict[str, Any]] = {}
    for rid, entry in base_rules.items():
        entry = _mapping(entry, packaged, f"rules.{rid}")
        # The packaged params are the schema: read them as given.
        params = dict(_mapping(entry.get("params"), packaged, f"rules.{rid}.params"))
        rest = {k: v for k, v in entry.items() if k != "params"}
        rules[rid] = {**_merge_rule({}, rest, packaged, rid, {}), "params": params}
    customs: dict[str, tuple[dict[str, Any], Path, str]] = {}
    for i, entry in enumerate(base.get("custom") or []):
        at = f"custom[{i}]"
        checked = _custom(entry, packaged, at, builtin)
        customs[checked["id"]] = (checked, packaged, at)

    user_file = Path(path) if path is not None else None
    if user_file is not None:
        user = _read(user_file)
        for rid, entry in _mapping(user.get("rules"), user_file, "rules").items():
            if rid not in rules:
                raise BadRequest(
                    f"{user_file}: rules.{rid}: unknown rule id (known: {', '.join(sorted(rules))};"
                    " add your own under 'custom')"
                )
            over = _mapping(entry, user_file, f"rules.{rid}")
            rules[rid] = _merge_rule(
                {**rules[rid], "params": rules[rid].get("params", {})},
                over,
                user_file,
                rid,
                origins,
            )
        custom_list = user.get("custom") or []
        if not isinstance(custom_list, list):
            raise BadRequest(f"{user_file}: custom: expected a list of custom rules")
        seen: set[str] = set()
        for i, entry in enumerate(custom_list):
            at = f"custom[{i}]"
            checked = _custom(entry, user_file, at, builtin)
            if checked["id"] in seen:
                raise BadRequest(f"{user_file}: {at}.id: {checked['id']!r} given twice")
            seen.add(checked["id"])
            earlier = customs.get(checked["id"], ({}, user_file, at))[0]
            customs[checked["id"]] = ({**earlier, **checked}, user_file, at)

    configs = {rid: _rule_config(rid, entry, origins) for rid, entry in rules.items()}
    custom = [_custom_config(e, f, at) for e, f, at in customs.values()]
    document = {
        "version": 1,
        "rules": {
            rid: {
                "enabled": c.enabled,
                "severity": c.severity,
                "action": c.action,
                "params": c.params,
            }
            for rid, c in sorted(configs.items())
        },
        "custom": [
            {
                "id": c.id,
                "enabled": c.enabled,
                "severity": c.severity,
                "action": c.action,
                "events": list(c.events),
                "expression": c.expression,
                "explanation": {"en": c.explanation_en, "ja": c.explanation_ja},
            }
            for c in sorted(custom, key=lambda c: c.id)
        ],
    }
    return EffectiveRules(
        rules=configs,
        custom=custom,
        document=document,
        origins=origins,
        custom_origins={e["id"]: (str(f), at) for e, f, at in customs.values()},
        user_file=user_file,
    )


def resolve_file(value: str) -> Path:
    """A ``*_file`` parameter as a path: the user's are absolute already (resolved against
    their file at load); the packaged ones are relative to the packaged rules folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else PACKAGED.parent / path
