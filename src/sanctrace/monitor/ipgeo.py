"""IP address to country, offline, for IPv4 and IPv6 (docs/monitoring.md, "IP database").

The data is the Regional Internet Registries' delegation files (the country a block is
*assigned* to), embedded in the PyPI package ``iptocc`` (MIT OR Apache-2.0): no file to
download and no network at run time. Refreshing is ``pip install -U iptocc`` (the package is
rebuilt nightly with fresh RIR data).

The database's date is the build time of the installed wheel, read from the CycloneDX SBOM the
wheel ships (``iptocc-*.dist-info/sboms/*.json``, ``metadata.timestamp``): the release's build
is when its RIR data was taken in. When the SBOM is missing, the date falls back to the
modification time of the wheel's ``METADATA`` file (when it was installed, which is no earlier
than its data), and ``database_date_source`` says so.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import metadata
from ipaddress import ip_address
from pathlib import Path

from sanctrace.errors import BadRequest, Unavailable
from sanctrace.monitor.rules.base import IpCountry

__all__ = ["DatabaseInfo", "database_info", "lookup"]

PACKAGE = "iptocc"
_lock = threading.Lock()


@dataclass(frozen=True)
class DatabaseInfo:
    """Which IP database answers: its name (package and version), date and how it was dated."""

    name: str  # "iptocc 3.3.170, RIR delegated data"
    version: str
    date: date
    date_source: str  # "wheel SBOM build timestamp" | "install time of the package metadata"

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "date": self.date.isoformat(),
            "date_source": self.date_source,
        }


@lru_cache(maxsize=1)
def database_info() -> DatabaseInfo:
    """The installed database (``Unavailable`` when ``iptocc`` is not installed)."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise Unavailable("the IP database is not installed: pip install 'iptocc>=3.3'") from None
    version = dist.version
    built: date | None = None
    source = "wheel SBOM build timestamp"
    for file in dist.files or ():
        if "sboms/" in str(file) and str(file).endswith(".json"):
            try:
                built = date.fromisoformat(
                    json.loads(file.read_text())["metadata"]["timestamp"][:10]
                )
            except (OSError, KeyError, TypeError, ValueError):
                built = None
            if built is not None:
                break
    if built is None:
        source = "install time of the package metadata"
        meta = next((f for f in dist.files or () if str(f).endswith("METADATA")), None)
        located = Path(str(meta.locate())) if meta is not None else None
        built = (
            datetime.fromtimestamp(located.stat().st_mtime, UTC).date()
            if located is not None and located.exists()
            else date.today()
        )
    return DatabaseInfo(f"{PACKAGE} {version}, RIR delegated data", version, built, source)


def lookup(ip: str) -> IpCountry | None:
    """The country an IPv4 or IPv6 address is registered to, or None when no RIR assigned it
    (private, reserved or unallocated space). ``BadRequest`` for a string that is no IP."""
    try:
        text = str(ip_address(str(ip).strip()))
    except ValueError:
        raise BadRequest(f"ip: {ip!r} is not an IPv4 or IPv6 address") from None
    info = database_info()
    import iptocc  # after database_info, which explains a missing package

    with _lock:  # the binding is fast; the lock keeps it safe whatever its threading
        code = iptocc.country_code(text)
    if not code or code in ("ZZ", "--"):
        return None
    return IpCountry(ip=text, country=code.upper(), database=info.name, database_date=info.date)
