"""Downloading lists from their official addresses, then loading them as snapshots.

Each file is fetched with retries and a conditional request (ETag / Last-Modified of the last
good download); a 304 reuses the cached copy. Files are written to a ``.part`` name and renamed
only when complete, and every download is recorded with its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import time
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
import sqlalchemy as sa

from sanctrace.errors import SanctraceError
from sanctrace.lists.publication import publication_date
from sanctrace.lists.registry import get_format
from sanctrace.lists.snapshots import LoadResult, load_set
from sanctrace.store import Database
from sanctrace.store.snapshots import now
from sanctrace.store.tables import fetches

RETRIES = 3
TIMEOUT = 60.0


@dataclass
class FetchResult:
    """What fetching one source did: its downloads and the load of its files."""

    source: str
    downloaded: int  # files fetched anew
    unchanged: int  # files answered 304
    load: LoadResult


def load_config(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Source name → {format, urls}: from ``path``, else the built-in file."""
    try:
        if path is None:
            text = resources.files("sanctrace.lists").joinpath("sources.toml").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SanctraceError(f"{path or 'sources.toml'}: {exc}") from exc
    sources: dict[str, dict[str, Any]] = data.get("sources", {})
    for name, cfg in sources.items():
        if not isinstance(cfg.get("urls"), list) or not cfg["urls"] or "format" not in cfg:
            raise SanctraceError(
                f"{path or 'sources.toml'}: [sources.{name}] needs format and urls"
            )
    return sources


DEFAULT_MAX_AGE_HOURS = 48.0


def max_ages(path: Path | None = None) -> dict[str, float]:
    """Source name → the hours its active snapshot may age before it is stale (``default``
    for the rest): the built-in ``[max_age_hours]`` with ``path``'s entries over it."""
    ages: dict[str, float] = {"default": DEFAULT_MAX_AGE_HOURS}
    try:
        texts = [
            (
                "sources.toml",
                resources.files("sanctrace.lists").joinpath("sources.toml").read_text("utf-8"),
            )
        ]
        if path is not None:
            texts.append((str(path), path.read_text("utf-8")))
        tables = [(where, tomllib.loads(text).get("max_age_hours", {})) for where, text in texts]
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SanctraceError(f"{path or 'sources.toml'}: {exc}") from exc
    for where, table in tables:
        for name, hours in table.items():
            if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
                raise SanctraceError(f"{where}: [max_age_hours] {name} must be a positive number")
            ages[name] = float(hours)
    return ages


def fetch_sources(
    db: Database,
    cache_dir: Path,
    sources: list[str] | None = None,
    config: Path | None = None,
    client: httpx.Client | None = None,
    backoff: float = 2.0,
) -> list[FetchResult]:
    """Fetch the named sources (default: every configured one) into ``cache_dir/<source>``
    and load them."""
    cfg = load_config(config)
    names = sources or list(cfg)
    unknown = [n for n in names if n not in cfg]
    if unknown:
        raise SanctraceError(f"unknown source {unknown[0]!r}; configured: {', '.join(cfg)}")
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        return [fetch_source(db, cache_dir, n, cfg[n], client, backoff) for n in names]
    finally:
        if own:
            client.close()


def fetch_source(
    db: Database,
    cache_dir: Path,
    source: str,
    cfg: dict[str, Any],
    client: httpx.Client,
    backoff: float,
) -> FetchResult:
    """Download one source's files into ``cache_dir/<source>`` and load them as one set."""
    folder = cache_dir / source
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    downloaded = unchanged = 0
    dates: list[str] = []
    for url in cfg["urls"]:
        target = folder / _file_name(url)
        fresh, modified = _download(db, source, url, target, client, backoff)
        downloaded += fresh
        unchanged += not fresh
        files.append(target)
        if date := publication_date(modified):
            dates.append(date)
    # The server's Last-Modified stands for the publication date of files that print none.
    published = max(dates) if dates else None
    result = load_set(db, files, get_format(cfg["format"]), source, published=published)
    return FetchResult(source, downloaded, unchanged, result)


def _file_name(url: str) -> str:
    name = unquote(Path(urlparse(url).path).name) or "download"
    return "".join(c for c in name if c.isalnum() or c in "._-") or "download"


def _download(
    db: Database, source: str, url: str, target: Path, client: httpx.Client, backoff: float
) -> tuple[bool, str | None]:
    """Fetch ``url`` into ``target``: (False when the server says the cached copy is current,
    the copy's Last-Modified)."""
    headers: dict[str, str] = {}
    last = _last_good(db, source, url) if target.exists() else None
    if last is not None:
        if last.etag:
            headers["If-None-Match"] = last.etag
        if last.last_modified:
            headers["If-Modified-Since"] = last.last_modified
    error: str = ""
    for attempt in range(RETRIES):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            with client.stream("GET", url, headers=headers) as resp:
                if resp.status_code == 304 and last is not None:
                    _record(db, source, url, 304, last.etag, last.last_modified, last.sha256, None)
                    return False, last.last_modified
                if resp.status_code >= 500 or resp.status_code == 429:
                    error = f"HTTP {resp.status_code}"
                    continue
                if resp.status_code != 200:
                    raise SanctraceError(f"{url}: HTTP {resp.status_code}")
                sha, size = _save(resp, target)
                _record(
                    db,
                    source,
                    url,
                    200,
                    resp.headers.get("etag"),
                    resp.headers.get("last-modified"),
                    sha,
                    size,
                )
                return True, resp.headers.get("last-modified")
        except httpx.HTTPError as exc:
            error = str(exc) or type(exc).__name__
    raise SanctraceError(f"{url}: download failed after {RETRIES} attempts ({error})")


def _save(resp: httpx.Response, target: Path) -> tuple[str, int]:
    part = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with open(part, "wb") as fh:
            for chunk in resp.iter_bytes():
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        expected = resp.headers.get("content-length")
        if (
            expected is not None
            and int(expected) != size
            and not resp.headers.get("content-encoding")
        ):
            raise SanctraceError(f"{resp.url}: truncated download ({size} of {expected} bytes)")
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return digest.hexdigest(), size


def _last_good(db: Database, source: str, url: str) -> sa.Row | None:
    query = (
        sa.select(fetches)
        .where(fetches.c.source == source, fetches.c.url == url, fetches.c.status == 200)
        .order_by(fetches.c.id.desc())
        .limit(1)
    )
    with db.connect() as conn:
        return conn.execute(query).first()


def _record(
    db: Database,
    source: str,
    url: str,
    status: int,
    etag: str | None,
    modified: str | None,
    sha: str | None,
    size: int | None,
) -> None:
    """One row of the download log."""
    with db.begin() as conn:
        conn.execute(
            fetches.insert().values(
                source=source,
                url=url,
                fetched_at=now(),
                status=status,
                etag=etag,
                last_modified=modified,
                sha256=sha,
                bytes=size,
            )
        )
