"""What a request may cost: its body's size, what its JSON may hold, how many records it may
carry, and how often one API key may ask (a token bucket per key).

Checked before any endpoint runs (``api.middleware``), so an oversized or poisoned body costs
a read and one JSON parse, and no error message quotes the input.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "RECORD_KEYS",
    "BodyRefused",
    "RateLimiter",
    "check_json",
    "is_json",
]

# Top-level lists that are records of a batch: the company check's ``records`` and
# ``companies``, an events batch, a list of names; or the body itself when it is a list.
RECORD_KEYS = ("records", "companies", "events", "names", "addresses")


@dataclass(frozen=True)
class BodyRefused(Exception):
    """A body refused before the endpoint: the status and a message that quotes nothing."""

    status: int
    detail: str


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI would read this body as JSON (it does without a content type, too)."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _no_constant(name: str) -> object:
    raise BodyRefused(422, f"JSON body: {name} is not a number sanctrace accepts")


def _strings(value: object) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _records(value: object) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return max((len(v) for k in RECORD_KEYS if isinstance(v := value.get(k), list)), default=0)
    return 0


def check_json(body: bytes, max_records: int) -> None:
    """Refuse a JSON body FastAPI would pass on to the services but they cannot take: ``NaN``
    and infinities, lone surrogates (``"\\ud800"``: not text, and no encoder takes them), and
    more than ``max_records`` records. Malformed JSON is left to FastAPI's own 422."""
    if not body.strip():
        return
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except BodyRefused:
        raise
    except UnicodeDecodeError:
        raise BodyRefused(422, "JSON body: not UTF-8 text") from None
    except RecursionError:
        raise BodyRefused(422, "JSON body: nested too deeply") from None
    except ValueError:  # malformed: FastAPI answers it (json_invalid, with the position)
        return
    if isinstance(value, float) and not math.isfinite(value):  # 1e999 parses as inf
        raise BodyRefused(422, "JSON body: a number out of range")
    for text in _strings(value):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BodyRefused(422, "JSON body: a string holds a lone surrogate") from None
    _finite(value)
    count = _records(value)
    if count > max_records:
        raise BodyRefused(
            413, f"too many records in one request: {count} (at most {max_records}; split it)"
        )


def _finite(value: object) -> None:
    """``1e999`` is read as infinity without passing through ``parse_constant``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise BodyRefused(422, "JSON body: a number out of range")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, in bursts of as many.
    ``take(key)`` answers 0 when the request may go, else the seconds until it may."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        if self.per_minute <= 0:
            return 0.0
        moment = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.per_minute), moment))
            tokens = min(float(self.per_minute), tokens + (moment - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, moment)
                return 0.0
            self._buckets[key] = (tokens, moment)
            return (1.0 - tokens) / self.rate
