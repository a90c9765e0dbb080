"""Official sanctions lists: one reader module per source format (see ``registry``), the
snapshot store with deltas, and fetching the official URLs.

Readers load on first use through the registry, so only the registry and the reader
protocol are re-exported here.
"""

from sanctrace.lists.base import ListFormat, ParseError, ParseReport
from sanctrace.lists.registry import all_formats, detect_format, get_format

__all__ = [
    "ListFormat",
    "ParseError",
    "ParseReport",
    "all_formats",
    "detect_format",
    "get_format",
]
