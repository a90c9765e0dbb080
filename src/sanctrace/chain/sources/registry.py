"""The chain formats sanctrace reads, by name; modules load on first use."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path

from sanctrace.chain.sources.base import ChainFormat, ChainParseError, read_head

log = logging.getLogger(__name__)

# format name -> "module" (its ``FORMAT``) or "module:ATTRIBUTE". Sniffing tries them in this
# order: formats with a magic number first, then the tables told apart by their columns.
FORMAT_MODULES: dict[str, str] = {
    "btc_raw": "sanctrace.chain.sources.btc_raw",
    "eth_token_transfers": "sanctrace.chain.sources.eth_etl:TOKEN_TRANSFERS",
    "eth_transactions": "sanctrace.chain.sources.eth_etl:TRANSACTIONS",
    "trx_trc20": "sanctrace.chain.sources.tron",
    "btc_core_json": "sanctrace.chain.sources.btc_core_json",
    "btc_bigquery": "sanctrace.chain.sources.btc_bigquery",
}


def _import(name: str) -> ChainFormat | None:
    """The format object, or None when its module is not installed."""
    module_name, _, attribute = FORMAT_MODULES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    fmt: ChainFormat = getattr(module, attribute or "FORMAT")
    return fmt


def get_format(name: str, chain: str | None = None) -> ChainFormat:
    """The format called ``name`` (for ``chain`` when given); unknown names are a user error."""
    fmt = _import(name) if name in FORMAT_MODULES else None
    if fmt is None:
        raise ChainParseError(
            "--format", None, f"unknown chain format {name!r}; one of: {', '.join(format_names())}"
        )
    return with_chain(fmt, chain) if chain else fmt


def with_chain(fmt: ChainFormat, chain: str) -> ChainFormat:
    """``fmt`` set to read ``chain``; formats of one fixed chain refuse another."""
    if fmt.chain == chain:
        return fmt
    retarget: Callable[[str], ChainFormat] | None = getattr(fmt, "with_chain", None)
    if retarget is None:
        raise ChainParseError(
            "--chain", None, f"format {fmt.name} reads {fmt.chain or 'its own'} data only"
        )
    return retarget(chain)


def format_names() -> list[str]:
    """The names of the formats available (their modules present)."""
    return [name for name in FORMAT_MODULES if _import(name) is not None]


def all_formats() -> list[ChainFormat]:
    return [fmt for name in FORMAT_MODULES if (fmt := _import(name)) is not None]


def detect_format(path: Path) -> ChainFormat:
    """The format of one file, from its name and first bytes."""
    head = read_head(path)
    for fmt in all_formats():
        try:
            if fmt.sniff(path, head):
                return fmt
        # A sniffer that chokes on a file it does not know means "not mine".
        except Exception as exc:  # noqa: BLE001
            log.debug("%s: %s sniff failed: %s", path, fmt.name, exc)
    raise ChainParseError(path, None, "unrecognised chain format (give --format)")
