"""Safe, streaming XML reading for list parsers (OFAC, UN, EU …).

Everything goes through :func:`iter_elements`, which wraps lxml's ``iterparse`` with the
settings a hostile file cannot abuse: no entity expansion, no network, no DTD loading, no
"huge tree" (libxml2's limits on depth and text size stay on), and a cap on decompressed bytes
(``MAX_LIST_BYTES``). A document type declaration that declares entities (XXE, "billion
laughs") or points at an external DTD is refused outright. Syntax errors, read errors and
refusals all come out as :class:`~sanctrace.lists.base.ParseError` naming the file and line.

Namespaces are stripped from yielded records (``{ns}sdnEntry`` becomes ``sdnEntry``), so
callers match local names only and accept any namespace a publisher switches to. The small
helpers :func:`find`, :func:`findall`, :func:`text` and :func:`texts` read child paths such as
``"idList/id"``.

Memory stays bounded because each yielded record is cleared once the caller moves on, together
with everything before it in the document. Elements that are never yielded stay in memory until
a later yielded record follows them, so name the repeating record tags of *every* large section
(and ignore the ones you do not need), or stop iterating once your section is done.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path

from lxml import etree

from sanctrace.lists.base import MAX_LIST_BYTES, ParseError, open_binary

__all__ = [
    "find",
    "findall",
    "iter_elements",
    "localname",
    "root_name",
    "text",
    "texts",
    "where",
]


def localname(tag: str | etree._Element) -> str:
    """The local part of a tag or element name: ``{ns}sdnEntry`` → ``sdnEntry``."""
    if not isinstance(tag, str):
        tag = tag.tag if isinstance(tag.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


def where(el: etree._Element) -> str:
    """Location of an element for error messages: ``line N``."""
    return f"line {el.sourceline}" if el.sourceline else ""


def find(el: etree._Element, path: str) -> etree._Element | None:
    """First element at ``path`` (local names separated by ``/``) below ``el``."""
    return el.find(path)


def findall(el: etree._Element, path: str) -> list[etree._Element]:
    """All elements at ``path`` below ``el``, in document order."""
    return el.findall(path)


def text(el: etree._Element | None, path: str | None = None) -> str | None:
    """Whitespace-normalised text of ``el`` (or of the first element at ``path``); None if empty."""
    if el is not None and path:
        el = el.find(path)
    if el is None:
        return None
    raw = el.text if len(el) == 0 else "".join(el.itertext())
    if not raw:
        return None
    value = " ".join(raw.split())
    return value or None


def texts(el: etree._Element, path: str) -> list[str]:
    """Non-empty, whitespace-normalised texts of every element at ``path``."""
    return [v for v in (text(child) for child in el.iterfind(path)) if v]


def iter_elements(path: Path, tags: Collection[str]) -> Iterator[etree._Element]:
    """Stream the elements whose local name is in ``tags``, at their end tag.

    A yielded element is complete (its subtree is parsed), has namespaces stripped from its
    subtree, and is cleared when the caller asks for the next one: read what you need before
    moving on and keep no references. Tags may nest, but an element listed together with
    records inside it arrives emptied: use such a container (``{"sdnEntry", "sdnList"}``) only
    as an end-of-section marker.

    Raises ParseError for malformed XML (with the line), unreadable or oversized files, and
    documents whose DOCTYPE declares entities or names an external DTD.
    """
    wanted = [f"{{*}}{t}" for t in tags]
    fh = open_binary(path)
    try:
        head = fh.read(_HEAD_BYTES)
        _check_prolog(path, head)
    except (OSError, EOFError, zlib.error) as exc:
        fh.close()
        raise ParseError(path, None, f"cannot read: {exc}") from exc
    except ParseError:
        fh.close()
        raise
    context = etree.iterparse(
        _Limited(fh, path, head),
        events=("end",),
        tag=wanted,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    checked = False
    try:
        try:
            for _event, el in context:
                if not checked:
                    _check_doctype(path, el.getroottree())
                    checked = True
                _strip_namespaces(el)
                yield el
                _release(el)
            if not checked and context.root is not None:
                _check_doctype(path, context.root.getroottree())
        except etree.XMLSyntaxError as exc:
            line = exc.lineno or (exc.position[0] if exc.position else 0)
            raise ParseError(path, f"line {line}" if line else None, _message(exc)) from exc
        except etree.LxmlError as exc:
            raise ParseError(path, None, f"XML error: {exc}") from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(path, None, f"cannot read: {exc}") from exc
    finally:
        fh.close()


def root_name(head: bytes) -> tuple[str | None, str] | None:
    """Namespace URI and local name of the root element found in the first bytes of a file.

    For format sniffing: skips the XML declaration, comments, processing instructions and a
    DOCTYPE. None when ``head`` does not start like an XML document.
    """
    doc = _decode_head(head)
    pos, _ = _skip_prolog(doc)
    m = _START_TAG.match(doc, pos)
    if not m:
        return None
    qname, attrs = m.group(1), m.group(2)
    prefix, _, local = qname.rpartition(":")
    ns_attr = f"xmlns:{prefix}" if prefix else "xmlns"
    ns = None
    for name, value in _ATTR.findall(attrs):
        if name == ns_attr:
            ns = value[1:-1]
    return ns, local


_PROLOG = re.compile(
    r"\s+|<\?.*?\?>|<!--.*?-->|(<!DOCTYPE(?:[^\[>]*\[.*?\])?[^>]*>)", re.DOTALL | re.IGNORECASE
)
_START_TAG = re.compile(r"<([A-Za-z_][\w.\-:]*)((?:\s+[^>]*?)?)/?>", re.DOTALL)
_ATTR = re.compile(r"([\w.\-:]+)\s*=\s*(\"[^\"]*\"|'[^']*')")
_EXTERNAL_ID = re.compile(r"<!DOCTYPE\s+[^\s\[>]+\s+(?:SYSTEM|PUBLIC)\b", re.IGNORECASE)
_ENTITY_DECL = re.compile(r"<!ENTITY\b", re.IGNORECASE)
_REFUSE_ENTITIES = "document type declaration declares entities (XXE/entity bomb); refused"
_REFUSE_EXTERNAL = "document type declaration names an external DTD; refused"
_HEAD_BYTES = 1 << 16


def _decode_head(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def _skip_prolog(doc: str) -> tuple[int, str | None]:
    """Position after the prolog, and the DOCTYPE declaration found there (if any)."""
    pos, doctype = 0, None
    while m := _PROLOG.match(doc, pos):
        doctype = m.group(1) or doctype
        pos = m.end()
    if doctype is None and doc.startswith("<!DOCTYPE", pos):
        doctype = doc[pos:]  # a DOCTYPE longer than the head: judge what we have
    return pos, doctype


def _check_prolog(path: Path, head: bytes) -> None:
    """Refuse a DOCTYPE with entity declarations or an external DTD before lxml sees it."""
    _, doctype = _skip_prolog(_decode_head(head))
    if doctype is None:
        return
    if _ENTITY_DECL.search(doctype):
        raise ParseError(path, None, _REFUSE_ENTITIES)
    if _EXTERNAL_ID.match(doctype):
        raise ParseError(path, None, _REFUSE_EXTERNAL)


class _Limited:
    """A read-only file wrapper that refuses to deliver more than ``MAX_LIST_BYTES``.

    ``head`` holds bytes already read from ``fh``; they are delivered first.
    """

    def __init__(self, fh, path: Path, head: bytes = b"") -> None:
        self._fh = fh
        self._path = path
        self._head = head
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        size = size if size and size > 0 else 1 << 16
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
        else:
            data = self._fh.read(size)
        self._count += len(data)
        if self._count > MAX_LIST_BYTES:
            raise ParseError(self._path, None, f"larger than {MAX_LIST_BYTES} bytes; refused")
        return data


def _check_doctype(path: Path, tree: etree._ElementTree) -> None:
    info = tree.docinfo
    if info.system_url or info.public_id:
        raise ParseError(path, None, _REFUSE_EXTERNAL)
    dtd = info.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ParseError(path, None, _REFUSE_ENTITIES)


def _strip_namespaces(el: etree._Element) -> None:
    for node in el.iter(tag=etree.Element):
        tag = node.tag
        if tag[0] == "{":
            node.tag = tag.rsplit("}", 1)[1]


def _release(el: etree._Element) -> None:
    """Free ``el`` and everything before it, walking up to the root."""
    el.clear(keep_tail=False)
    node = el
    while node is not None:
        parent = node.getparent()
        if parent is None:
            break
        while node.getprevious() is not None:
            del parent[0]
        node = parent


def _message(exc: etree.XMLSyntaxError) -> str:
    msg = str(exc.msg or exc)
    # lxml appends ", line N, column M"; the ParseError prefix already names the line.
    return re.sub(r",? line \d+, column \d+$", "", msg).strip() or "malformed XML"
