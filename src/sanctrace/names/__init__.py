"""Name screening across scripts: normalisation, candidate index, explained scoring."""

from sanctrace.names.normalize import NormalizedName, normalize, variants
from sanctrace.names.screener import DEFAULT_THRESHOLD, Screener

__all__ = ["DEFAULT_THRESHOLD", "NormalizedName", "Screener", "normalize", "variants"]
