"""The built-in typologies by id, as ``module:Class`` import paths imported on first use.

Lazy imports keep loading the rules cheap and let a typology module arrive later: a module that
cannot be imported becomes an error finding on every event (never a silent pass), not a
failure to load the other rules.
"""

from __future__ import annotations

import importlib

from sanctrace.monitor.rules.base import Rule

__all__ = ["BUILTIN", "load_class"]

_PKG = "sanctrace.monitor.rules"

BUILTIN: dict[str, str] = {
    "sanctioned_address": f"{_PKG}.sanctioned_address:SanctionedAddress",
    "indirect_exposure": f"{_PKG}.indirect_exposure:IndirectExposure",
    "name_match": f"{_PKG}.name_match:NameMatch",
    "sanctioned_jurisdiction_ip": f"{_PKG}.sanctioned_jurisdiction_ip:SanctionedJurisdictionIp",
    "pass_through": f"{_PKG}.pass_through:PassThrough",
    "structuring": f"{_PKG}.structuring:Structuring",
    "mining_origin": f"{_PKG}.mining_origin:MiningOrigin",
    "sanctioned_vasp": f"{_PKG}.sanctioned_vasp:SanctionedVasp",
    "jurisdiction_mismatch": f"{_PKG}.jurisdiction_mismatch:JurisdictionMismatch",
}


def load_class(rule_id: str) -> type[Rule]:
    """The class of a built-in rule; ``ImportError`` when its module or class is missing."""
    module_name, _, class_name = BUILTIN[rule_id].partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Rule)):
        raise ImportError(f"{BUILTIN[rule_id]}: no Rule subclass {class_name}")
    if getattr(cls, "id", rule_id) != rule_id:
        raise ImportError(f"{BUILTIN[rule_id]}: its id is {cls.id!r}, registered as {rule_id!r}")
    return cls
