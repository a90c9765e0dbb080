"""The list formats sanctrace reads, by name; modules load on first use."""

from __future__ import annotations

import importlib
from pathlib import Path

from sanctrace.lists.base import ListFormat, ParseError, read_head

# format name -> module that defines ``FORMAT``. Order matters for sniffing: specific first.
FORMAT_MODULES: dict[str, str] = {
    "ofac_csv": "sanctrace.lists.ofac_csv",
    "ofac_xml": "sanctrace.lists.ofac_xml",
    "ofac_advanced_xml": "sanctrace.lists.ofac_advanced_xml",
    "un_xml": "sanctrace.lists.un_xml",
    "eu_fsf_xml": "sanctrace.lists.eu_fsf_xml",
    "uk_csv": "sanctrace.lists.uk_csv",
    "jp_mof_xlsx": "sanctrace.lists.jp_mof_xlsx",
    "jp_meti_text": "sanctrace.lists.jp_meti_text",
    "ftm_json": "sanctrace.lists.ftm_json",
}


def get_format(name: str) -> ListFormat:
    """The format called ``name``; unknown names are a user error naming the choices."""
    module = FORMAT_MODULES.get(name)
    if module is None:
        raise ParseError(
            "--format", None, f"unknown format {name!r}; one of: {', '.join(FORMAT_MODULES)}"
        )
    return importlib.import_module(module).FORMAT


def all_formats() -> list[ListFormat]:
    return [get_format(name) for name in FORMAT_MODULES]


def detect_format(path: Path) -> ListFormat:
    """The format of one file, from its name and first bytes."""
    head = read_head(path)
    for fmt in all_formats():
        if fmt.sniff(path, head):
            return fmt
    raise ParseError(path, None, "unrecognised list format (give --format)")
