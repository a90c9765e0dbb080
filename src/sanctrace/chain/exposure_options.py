"""The options of an exposure question, and the one check every layer applies to them.

The UTXO engine, the account-chain engine, the Spark job and the exposure service all accept
a taint model, a hop limit and a direction; they are defined and checked here only.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from sanctrace.errors import BadRequest, SanctraceError

__all__ = [
    "ACCOUNT_MODELS",
    "DEFAULT_HOPS",
    "DEFAULT_PATHS",
    "DIRECTIONS",
    "MAX_HOPS",
    "MAX_PATHS",
    "MODELS",
    "ExposureError",
    "check_options",
]

MODELS: tuple[str, ...] = ("haircut", "poison", "fifo")
ACCOUNT_MODELS: tuple[str, ...] = ("haircut", "poison")  # no FIFO without outputs
DIRECTIONS: tuple[str, ...] = ("in", "out")
MAX_HOPS = 10
DEFAULT_HOPS = 5
MAX_PATHS = 50
DEFAULT_PATHS = 5


class ExposureError(BadRequest, ValueError):
    """A bad exposure request: bad model, hops or direction (engines: also bad inputs)."""


def check_options(
    model: str | None = None,
    hops: object = None,
    direction: str | None = None,
    *,
    paths: object = None,
    models: Collection[str] = MODELS,
    error: type[SanctraceError] = ExposureError,
) -> None:
    """Raise ``error`` naming the field for a model, hop limit, direction or path count
    outside what the engines accept (``None``: not checked)."""
    if model is not None and model not in models:
        raise error(f"model: {model!r} is not one of {', '.join(models)}")
    if hops is not None:
        if isinstance(hops, bool) or not isinstance(hops, int | np.integer):
            raise error(f"hops: {hops!r} is not an integer")
        if not 0 <= hops <= MAX_HOPS:
            raise error(f"hops: {hops} is outside 0..{MAX_HOPS}")
    if direction is not None and direction not in DIRECTIONS:
        raise error(f"direction: {direction!r} is not 'in' or 'out'")
    if paths is not None:
        if isinstance(paths, bool) or not isinstance(paths, int | np.integer):
            raise error(f"paths: {paths!r} is not an integer")
        if not 0 <= paths <= MAX_PATHS:
            raise error(f"paths: {paths} is outside 0..{MAX_PATHS}")
