"""Japan METI end-user lists (Russia, Belarus, third countries), as text extracted from the PDF.

Layout: a title (``○ …の団体（令和四年外務省告示第八十二号）``, may wrap), ``指定日：`` and
``最終更新日：`` dates, then numbered entries::

    ６ 連邦保安庁                                   <- number + Japanese name (may wrap,
    Federal Security Service (FSB), a.k.a., the       may hold （別称、A、B及びC）)
    following one alias:                            <- English name (may wrap)
    -Federalnaya Sluzhba Bezopasnosti               <- alias items ("-", "—" …)
    所在地：Ulitsa Kuznetskiy Most, … Russia.        <- address (may wrap)

Newer entries put aliases on ``別称：`` lines (Japanese ones, then English ones, ``;``-separated).
Text extraction glues lines: the next entry number may follow the previous address on the
same line (``Moscow 127055RU.10 対外諜報庁``), ``所在地：`` may follow the English name, and
the English name may follow the end of the Japanese one (``…リミテッドHong Kong …``).

Entities: schema ``LegalEntity``; id ``{source}:{kind}-{number:04d}`` where ``kind`` is ``ru``,
``by`` or ``third`` from the title; the Japanese and the English names are both PRIMARY
(``jpn`` / ``eng``), aliases ALIAS; ``address``, ``country`` (from the address tails) and
``program`` (the notice title). ``report.version`` is the 最終更新日 (else 指定日) in ISO form.

``parse`` uses the ``source`` it is given; ``suggest_source(path)`` names the dataset of a file
(``jp_meti_ru``, ``jp_meti_by``, ``jp_meti_third``) for callers that only know the default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sanctrace.lists.base import ParseError, ParseReport, open_binary
from sanctrace.lists.jp_common import has_japanese, has_kana, last_country_in, nfkc, parse_jp_date
from sanctrace.model import Entity, NameKind

SOURCES = {"ru": "jp_meti_ru", "by": "jp_meti_by", "third": "jp_meti_third"}
MAX_BYTES = 64 * 1024**2

_NUMBER_WORDS = {
    w: i + 1
    for i, w in enumerate(
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_DASHES = "-—–―‐－"
_ENTRY_AT_START = re.compile(r"^([0-9０-９]{1,4})[ \u3000]*(\S.*)$")
_NUMBER = re.compile(r"[0-9０-９]{1,4}")
_ADDRESS = re.compile(r"所\s*在\s*地\s*[：:]\s*")
_ALIAS_LINE = re.compile(r"^別称\s*[：:]\s*")
_AKA = re.compile(
    r",?\s*(?:\ba\.k\.a\b\.?,?\s*(?:(?:the\s*)?follow(?:ing)?\s*(?P<n1>[a-z]+?)\s*alias(?:es)?\s*:?)?"
    r"|(?:the\s*)?following\s*(?P<n2>[a-z]+?)\s*alias(?:es)?\s*:)",
    re.IGNORECASE,
)
_ITEM_END = re.compile(r"(?:\s*[;,]\s*(?:and|or)?|\.)\s*$")
_GLUE_EN = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff」）](?=[A-Z])")
_GLUED_ITEM = re.compile(r"(;\s*(?:and\s*)?)[-—–―]\s*(?=\S)")
_SEP = "\x00"  # marks an alias item that started a line with a dash


@dataclass
class MetiHeader:
    """The lines above the first entry."""

    title: str = ""
    designated: str | None = None  # 指定日, ISO
    updated: str | None = None  # 最終更新日, ISO
    kind: str | None = None  # "ru", "by", "third"


@dataclass
class MetiRecord:
    """One numbered entry, as printed."""

    number: int
    line: int
    name_ja: str = ""  # the Japanese text as printed (wraps joined), 別称 included
    english: list[str] = field(default_factory=list)
    alias_ja: list[str] = field(default_factory=list)
    alias_en: list[str] = field(default_factory=list)
    address: list[str] = field(default_factory=list)
    has_address: bool = False


def list_kind(title: str) -> str | None:
    """``ru``, ``by`` or ``third`` from a list title (or file name), else None."""
    text = "".join(title.split()).lower()
    if "以外の国" in text or "third" in text:
        return "third"
    if "ベラルーシ共和国の団体" in text or "belarus" in text:
        return "by"
    if "ロシア連邦の団体" in text or "russia" in text:
        return "ru"
    return None


def suggest_source(path: Path) -> str:
    """The dataset name of a METI file (``jp_meti_ru``, ``jp_meti_by``, ``jp_meti_third``):
    from its title (the content), else its file name; ``jp_meti_ru`` when neither says."""
    kind = None
    try:
        with open_binary(path) as fh:
            head = fh.read(4096)
        for encoding in ("utf-8", "cp932"):
            text = head.decode(encoding, "ignore")
            if "指定日" in text:
                kind = list_kind(nfkc(text.split("指定日")[0]))
                break
    except (OSError, EOFError, ParseError):
        kind = None
    kind = kind or list_kind(path.name)
    return SOURCES.get(kind or "", FORMAT.default_source)


def read_lines(path: Path) -> list[str]:
    """The file's lines (UTF-8, else CP932); undecodable or oversized files are a ParseError."""
    try:
        with open_binary(path) as fh:
            data = fh.read(MAX_BYTES + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise ParseError(path, None, f"cannot read: {exc}") from exc
    if len(data) > MAX_BYTES:
        raise ParseError(path, None, "file too large for a METI list")
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ParseError(path, None, "not UTF-8 or Shift_JIS text")
    if "\x00" in text:
        raise ParseError(path, None, "binary data in a text list")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def read_header(path: Path, lines: list[str]) -> tuple[MetiHeader, int]:
    """The header and the index of the first entry line."""
    header = MetiHeader()
    title: list[str] = []
    start = min(40, len(lines))
    for index, raw in enumerate(lines[:40]):
        line = nfkc(raw).strip()
        key = "".join(line.split(":", 1)[0].split())
        if key == "指定日":
            header.designated = parse_jp_date(line.split(":", 1)[-1])
        elif key == "最終更新日":
            header.updated = parse_jp_date(line.split(":", 1)[-1])
        elif header.designated or header.updated:
            start = index
            break
        elif line:
            title.append(line)
    if not (header.designated or header.updated):
        raise ParseError(path, 1, "no 指定日/最終更新日 header: not a METI end-user list")
    header.title = "".join(title).lstrip("○◯〇 ").strip()
    header.kind = list_kind(header.title)
    return header, start


def _entry_start(
    line: str, expected: int, mid_line: bool, gap_ok: bool
) -> tuple[int, str, str] | None:
    """(number, text before, text after) when ``line`` starts entry ``expected`` (or later)."""
    m = _ENTRY_AT_START.match(line)
    if m and has_japanese(m.group(2)[:12]):
        number = int(nfkc(m.group(1)))
        if number == expected or (gap_ok and expected < number <= expected + 5):
            return number, "", m.group(2)
    if not mid_line:
        return None
    for m in _NUMBER.finditer(line):
        start, end = m.span()
        if start == 0 or line[start - 1].isdigit() or line[start - 1].isspace():
            continue
        if int(nfkc(m.group())) != expected or end >= len(line) or line[end].isdigit():
            continue
        rest = line[end:].lstrip(" \u3000")
        if rest and has_japanese(rest[:8]):
            return expected, line[:start], rest
    return None


def _unclosed(text: str) -> bool:
    return text.count("（") + text.count("(") + text.count("「") > (
        text.count("）") + text.count(")") + text.count("」")
    )


def _split_glued_english(before: str, line: str) -> tuple[str, str]:
    """Split ``…リミテッドHong Kong Qisu …`` into the Japanese end and the English start."""
    for m in _GLUE_EN.finditer(line):
        tail = line[m.end() :]
        if _unclosed(before + line[: m.end()]):
            continue
        main = re.split(r"[（(]", tail, maxsplit=1)[0]
        if not has_japanese(main) and len(main.split()) >= 3:
            return line[: m.end()], tail
    return line, ""


def read_records(
    path: Path, lines: list[str], start: int, report: ParseReport | None = None
) -> Iterator[MetiRecord]:
    """The numbered entries below the header, with their raw parts (gaps go to ``report``)."""
    rec: MetiRecord | None = None
    state = ""
    expected = 1
    for index in range(start, len(lines)):
        lineno = index + 1
        frags = [lines[index].strip()]
        while frags:
            line = frags.pop(0)
            hit = _entry_start(line, expected, state in ("addr", "en", "alias_en"), state == "addr")
            if hit:
                number, before, after = hit
                if before.strip():
                    line = before
                    frags.insert(0, f"{number} {after}")
                else:
                    if number != expected and report is not None:
                        report.warn(f"{path}:{lineno}: entries {expected}..{number - 1} missing")
                    if rec is not None:
                        yield rec
                    rec = MetiRecord(number=number, line=lineno)
                    state, expected, line = "ja", number + 1, after
            if rec is None:
                if not line:
                    continue
                raise ParseError(path, lineno, f"expected entry {expected}, got {line[:40]!r}")
            m = _ADDRESS.search(line) if state != "addr" else None
            to_address = m is not None
            if m is not None:
                frags.insert(0, line[m.end() :])
                line = line[: m.start()]
                rec.has_address = True
            line = line.strip()
            if state == "addr" and has_kana(line):
                raise ParseError(path, lineno, f"Japanese text inside the address of {rec.number}")
            if line:
                state = _take(rec, state, line)
            if to_address:
                state = "addr"
    if rec is not None:
        yield rec


def _take(rec: MetiRecord, state: str, line: str) -> str:
    """Add one line (or fragment) to the record; returns the new state."""
    if state == "ja":
        if rec.name_ja and not _unclosed(rec.name_ja) and not _is_japanese_line(line):
            state = "en"
        else:
            ja, en = _split_glued_english(rec.name_ja, line)
            rec.name_ja = join_japanese(rec.name_ja, ja)
            if en:
                rec.english.append(en)
                return "en"
            return "ja"
    if state in ("en", "alias_ja", "alias_en") and (m := _ALIAS_LINE.match(line)):
        rest = line[m.end() :]
        state = "alias_ja" if has_japanese(rest) else "alias_en"
        (rec.alias_ja if state == "alias_ja" else rec.alias_en).append(rest)
        return state
    if state == "alias_ja":
        if _unclosed("".join(rec.alias_ja)) or _is_japanese_line(line):
            rec.alias_ja.append(line)
            return state
        state = "alias_en"
    {"en": rec.english, "alias_en": rec.alias_en, "addr": rec.address}[state].append(line)
    return state


def _is_japanese_line(line: str) -> bool:
    first = line.lstrip()[:1]
    return has_kana(line) or (bool(first) and (has_japanese(first) or first in "（「・、）」"))


def join_japanese(text: str, line: str) -> str:
    """Join a wrapped Japanese line: no space, except between two Latin words or digits."""
    if text and re.search(r"[A-Za-z0-9.]$", text) and re.match(r"[A-Za-z0-9]", line):
        return f"{text} {line}"
    return text + line


def join_latin(lines: list[str]) -> str:
    """Join wrapped Latin-script lines with spaces (none after a word-final hyphen)."""
    text = ""
    for line in lines:
        line = line.strip()
        if not text:
            text = line
        elif re.search(r"\w-$", text):
            text += line
        else:
            text += " " + line
    return text


def split_japanese_name(text: str) -> tuple[str, list[str]]:
    """``A（別称、B、C及びD）`` -> ("A", ["B", "C", "D"])."""
    m = re.search(r"[（(]\s*別称\s*[、､，,：:]", text)
    if not m:
        return text.strip(), []
    depth, end = 1, len(text)
    for i in range(m.end(), len(text)):
        if text[i] in "（(":
            depth += 1
        elif text[i] in "）)":
            depth -= 1
            if depth == 0:
                end = i
                break
    primary = (text[: m.start()] + text[end + 1 :]).strip()
    return primary, split_japanese_aliases(text[m.end() : end])


def split_japanese_aliases(text: str) -> list[str]:
    """Split an alias run on 、 and ; (outside brackets); the last item also on 及び."""
    items, buf, depth = [], "", 0
    for ch in text:
        if ch in "（(「":
            depth += 1
        elif ch in "）)」":
            depth = max(0, depth - 1)
        if ch in "、､;；" and depth == 0:
            items.append(buf)
            buf = ""
        else:
            buf += ch
    items.append(buf)
    if items and "及び" in items[-1] and not _unclosed(items[-1].split("及び")[0]):
        items[-1:] = items[-1].split("及び")
    return [i.strip(" \u3000。.") for i in items if i.strip(" \u3000。.")]


def split_english(lines: list[str]) -> tuple[str, list[str], int | None]:
    """English block -> (name, aliases, declared alias count)."""
    marked = []
    for line in lines:
        line = _GLUED_ITEM.sub(lambda m: m.group(1) + _SEP, nfkc(line))
        marked.append(_SEP + line.lstrip(_DASHES).strip() if line.lstrip()[:1] in _DASHES else line)
    text = join_latin(marked)
    m = _AKA.search(text)
    if not m:
        return re.sub(r"(?<=\))\.$", "", text.replace(_SEP, "-").strip()), [], None
    name = text[: m.start()].replace(_SEP, "-").strip().rstrip(",;")
    rest = text[m.end() :].strip().lstrip(_DASHES)
    count = m.group("n1") or m.group("n2")
    declared = _NUMBER_WORDS.get((count or "").lower())
    raw = [i.strip() for i in rest.split(_SEP) if i.strip()]
    if count is None or (declared and len(raw) == 1 < declared):  # "a.k.a. X; Y"
        raw = [p.strip() for i in raw for p in i.split(";") if p.strip()]
    # A line-start dash may be a word broken at its hyphen ("Solid" / "-State"): when there
    # are more items than announced, glue items onto predecessors that lack a separator.
    index = 1
    while declared and len(raw) > declared and index < len(raw):
        if re.search(r"(?:[;,]|\band)\s*$", raw[index - 1]):
            index += 1
        else:
            raw[index - 1 : index + 1] = [raw[index - 1] + "-" + raw[index]]
    items = [_ITEM_END.sub("", i).strip() for i in raw]
    return name, [i for i in items if i], declared


def _trailing_group(name: str) -> tuple[int, str] | None:
    """(start, content) of a bracket group that ends ``name``, nested groups included."""
    text = name.rstrip()
    if not text or text[-1] not in "）)":
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] in "）)":
            depth += 1
        elif text[i] in "（(":
            depth -= 1
            if depth == 0:
                return i, text[i + 1 : -1]
    return None


def han_names(name: str) -> tuple[str, list[str]]:
    """Strip trailing bracketed Chinese names: ``X（深圳…公司）`` -> ("X", ["深圳…公司"])."""
    found: list[str] = []
    while (group := _trailing_group(name)) and has_japanese(group[1]) and not has_kana(group[1]):
        parts = re.split(r"[、､,;（）()]", group[1])
        found[:0] = [p.strip() for p in parts if p.strip()]
        name = name[: group[0]].rstrip()
    return name, found


def to_entity(
    path: Path, rec: MetiRecord, header: MetiHeader, source: str, report: ParseReport
) -> Entity:
    """Build the entity of one record; warns on missing parts."""
    native = f"{header.kind or 'meti'}-{rec.number:04d}"
    entity = Entity(f"{source}:{native}", "LegalEntity", source, native)
    primary_ja, aliases_ja = split_japanese_name(rec.name_ja)
    name_en, aliases_en, declared = split_english(rec.english)
    name_en, han = han_names(name_en)
    primary_ja, han_ja = han_names(primary_ja)
    han += han_ja
    entity.add_name(primary_ja, NameKind.PRIMARY, lang="jpn")
    entity.add_name(name_en, NameKind.PRIMARY, lang="eng")
    alias_run = ""
    for line in rec.alias_ja:
        alias_run = join_japanese(alias_run, line)
    extra_en = [a.strip() for a in nfkc(join_latin(rec.alias_en)).split(";")]
    for alias in aliases_en + extra_en:
        entity.add_name(alias, NameKind.ALIAS, lang="eng")
    for alias in aliases_ja + split_japanese_aliases(alias_run):
        entity.add_name(alias, NameKind.ALIAS, lang="jpn" if has_japanese(alias) else None)
    for alias in han:
        entity.add_name(alias, NameKind.ALIAS, lang="zho")
    where = f"{rec.line} (entry {rec.number})"
    if declared and declared != len(aliases_en):
        report.warn(f"{path}:{where}: {declared} aliases announced, {len(aliases_en)} found")
    if not primary_ja or not name_en:
        report.warn(f"{path}:{where}: missing {'English' if primary_ja else 'Japanese'} name")
    address = nfkc(join_latin(rec.address)).strip()
    if not address:
        report.warn(f"{path}:{where}: no 所在地 (address)")
    for part in re.split(r";\s*(?:and\s+)?|\s+and\s+(?=\d)", address):
        entity.add("address", part.strip().rstrip(";"))
        entity.add("country", last_country_in(part))
    entity.add("program", header.title)
    return entity


class MetiTextFormat:
    """METI end-user list (text extracted from the official PDF)."""

    name = "jp_meti_text"
    default_source = "jp_meti_ru"
    description = "Japan METI end-user list (Russia/Belarus/third countries), PDF text"

    def sniff(self, path: Path, head: bytes) -> bool:
        for encoding in ("utf-8", "cp932"):
            text = head.decode(encoding, "ignore")
            if "禁止措置" in text and ("指定日" in text or "最終更新日" in text):
                return True
        return False

    def suggest_source(self, paths: list[Path]) -> str:
        """The source of a file set: its first file's list (Russia, Belarus, third countries),
        told apart by the title, so one list never replaces another."""
        return suggest_source(paths[0])

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        for path in paths:
            lines = read_lines(path)
            header, start = read_header(path, lines)
            version = header.updated or header.designated
            if version and (report.version is None or version > report.version):
                report.version = version
            last: MetiRecord | None = None
            for rec in read_records(path, lines, start, report):
                if last is not None:
                    yield to_entity(path, last, header, source, report)
                last = rec
            if last is None:
                raise ParseError(path, start + 1, "no numbered entries")
            if not last.english or not last.has_address:
                raise ParseError(path, last.line, f"file ends inside entry {last.number}")
            yield to_entity(path, last, header, source, report)


FORMAT = MetiTextFormat()
