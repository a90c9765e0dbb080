"""sanctrace: sanctions compliance for crypto-asset exchanges.

The public API is re-exported here; modules not named below are private.
"""

from sanctrace.errors import BadRequest, Conflict, NotFound, SanctraceError, Unavailable
from sanctrace.model import CryptoAddress, Entity, Name, NameKind

__version__ = "0.1.0"

__all__ = [
    "BadRequest",
    "Conflict",
    "CryptoAddress",
    "Entity",
    "Name",
    "NameKind",
    "NotFound",
    "SanctraceError",
    "Unavailable",
    "__version__",
]
