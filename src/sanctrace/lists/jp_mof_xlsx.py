"""Japan MOF 経済制裁措置及び対象者リスト: one XLSX workbook, one sheet per programme.

Each sheet: some title rows, then a header row that begins with 告示日付, then one row per
listed person or organisation. Header spellings vary (spaces, full-width forms, line breaks:
``日本語 表記``, ``英語\\n表記``, ``出生場所``, ``パスポート番号`` …), so a header cell is
matched by its NFKC, whitespace-free text against keyword lists (``COLUMNS``).

Entities: id ``{source}:{sheet_index}-{no}`` where ``sheet_index`` is the 1-based position of
the sheet and ``no`` the sheet's own 番号/No. column (the spreadsheet row ``r{row}`` when the
sheet has none); schema ``Person`` when the sheet name says 個人, when a sub-heading row says
個人, or when the row has a birth date or passport number, else ``LegalEntity`` (``Vessel`` on
船舶 sheets). 日本語表記 and 英語表記 are both PRIMARY names (``jpn`` / ``eng``); 別名 cells are
split into ALIAS names (旧称/f.k.a. ones into FORMER). Dates (告示日付 -> ``createdAt``,
生年月日 -> ``birthDate``) are converted from Japanese eras; 不明 cells are dropped. Crypto
addresses inside その他の情報 (``暗号資産アドレス：XBT 1A1z…``) become ``entity.crypto``.

``report.version``: a date printed in the title rows next to 現在/更新/時点 (the publication
date of the workbook) when there is one, else the latest 告示日付 in the workbook.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sanctrace.countries import country_code
from sanctrace.lists.base import ParseError, ParseReport
from sanctrace.lists.jp_common import (
    has_japanese,
    is_unknown,
    nfkc,
    parse_jp_dates,
    squash,
)
from sanctrace.model import CryptoAddress, Entity, NameKind

# Column key -> header keywords (matched on squashed text, first rule wins: specific first).
COLUMNS: list[tuple[str, tuple[str, ...]]] = [
    ("notice", ("告示日",)),
    ("passport", ("旅券", "パスポート", "passport")),
    ("id", ("身分証", "身分番号", "国民識別", "id番号", "idno")),
    ("birth_date", ("生年月日", "生年", "dateofbirth")),
    ("birth_place", ("出生地", "出生場所", "出身地", "出生", "placeofbirth")),
    ("alias", ("別名", "別称", "通称", "alias")),
    ("name_ja", ("日本語", "和文", "カナ")),
    ("name_en", ("英語", "英文", "ローマ字", "english")),
    ("nationality", ("国籍", "nationality")),
    ("address", ("住所", "所在地", "address")),
    ("position", ("役職", "肩書", "地位", "職業", "position")),
    ("title", ("称号", "敬称")),
    ("gender", ("性別", "gender")),
    ("other", ("その他", "備考", "otherinformation", "remarks")),
    ("number", ("番号", "no.", "整理番号", "項番")),
    ("name", ("氏名", "名称", "名前", "対象者", "name")),
]
_SIMPLE_PROPS = {"birth_place": "birthPlace", "position": "position", "title": "title"}
_LIST_SEP = re.compile(r"[、､；;／\n]|\s/\s")
_LINE_SEP = re.compile(r"[；;／\n]|\s/\s")
_ALIAS_MARK = re.compile(r"^(?:a\.?k\.?a\.?|aka|別名|別称|通称)\s*[:：.]?\s*", re.IGNORECASE)
_FORMER_MARK = re.compile(r"^(?:f\.?k\.?a\.?|fka|旧称|旧名)\s*[:：.]?\s*", re.IGNORECASE)
_INLINE_ALIAS = re.compile(
    r"[（(]\s*(?:a\.?k\.?a\.?|別名|別称)\s*[:：,、]?\s*([^（）()]*)[）)]", re.IGNORECASE
)
_QUOTES = "「」『』\"“”'‘’"
_CRYPTO_LABEL = re.compile(
    r"(?:暗号資産|デジタル通貨|仮想通貨|暗号通貨|電子通貨)\s*アドレス|digital\s+currency\s+address(?:es)?",
    re.IGNORECASE,
)
_CRYPTO_PAIR = re.compile(
    r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]{1,9})(?:\s*[-:]\s*|\s+)((?:0x)?[A-Za-z0-9]{25,100})(?![A-Za-z0-9])"
)
_VERSION_MARK = re.compile(r"現在|更新|時点|改訂|as\s+of", re.IGNORECASE)
# 告示 as UTF-8 and as the character references some writers use.
_SNIFF_MARKERS = ("告示".encode(), b"&#21578;&#31034;", b"&#x544a;&#x793a;")
_ERRORS = (Exception,)  # openpyxl raises many kinds (BadZipFile, KeyError, XML errors …)


@dataclass
class Sheet:
    """What one worksheet holds besides its rows."""

    index: int
    name: str
    columns: dict[int, str]
    header_row: int
    title_dates: list[str]


def column_key(header: object) -> str | None:
    """The column key of a header cell (see ``COLUMNS``), or None."""
    text = squash(str(header or ""))
    if not text:
        return None
    for key, words in COLUMNS:
        if key == "number" and text in ("no", "no."):
            return key
        if any(word in text for word in words if word not in ("no.",)):
            return key
    return None


def cell_text(value: object) -> str:
    """A cell as text (numbers without a trailing ``.0``), stripped; None is ``""``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def split_values(text: str, sep: re.Pattern[str] = _LIST_SEP) -> list[str]:
    """Split a multi-value cell on 、 ／ ; and line breaks; drop 不明 and quotes."""
    parts = [p.strip().strip(_QUOTES).strip() for p in sep.split(text)]
    return [p for p in parts if p and not is_unknown(p)]


def split_names(text: str) -> tuple[str, list[tuple[str, NameKind]]]:
    """A name cell -> (main name, [(alias, kind)]) from inline ``（別名：…）`` and extra lines."""
    extra: list[tuple[str, NameKind]] = []
    for m in _INLINE_ALIAS.finditer(text):
        extra.extend((a, NameKind.ALIAS) for a in split_values(m.group(1)))
    text = _INLINE_ALIAS.sub("", text)
    parts = [p.strip().strip(_QUOTES).strip() for p in re.split(r"[／\n]|\s/\s", text)]
    parts = [p for p in parts if p and not is_unknown(p)]
    if not parts:
        return "", extra
    return parts[0], [(p, NameKind.ALIAS) for p in parts[1:]] + extra


def split_aliases(text: str) -> list[tuple[str, NameKind]]:
    """An 別名 cell -> [(alias, kind)]; 旧称/f.k.a. items are FORMER names."""
    found: list[tuple[str, NameKind]] = []
    for part in split_values(_INLINE_ALIAS.sub(lambda m: "、" + m.group(1), text)):
        kind = NameKind.ALIAS
        if _FORMER_MARK.match(part):
            part, kind = _FORMER_MARK.sub("", part), NameKind.FORMER
        part = _ALIAS_MARK.sub("", part).strip().strip(_QUOTES).strip(" ()（）")
        if part and not is_unknown(part):
            found.append((part, kind))
    return found


def find_crypto(text: str) -> list[tuple[str, str]]:
    """(asset, address) pairs printed after 暗号資産アドレス / Digital Currency Address labels."""
    text = nfkc(text)
    labels = list(_CRYPTO_LABEL.finditer(text))
    pairs: list[tuple[str, str]] = []
    for i, label in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        for m in _CRYPTO_PAIR.finditer(text, label.end(), end):
            if (m.group(1), m.group(2)) not in pairs:
                pairs.append((m.group(1), m.group(2)))
    return pairs


def to_address(asset: str, raw: str) -> CryptoAddress:
    """Validate through ``sanctrace.chain.addresses``; kept unvalidated if that is missing."""
    try:
        from sanctrace.chain.addresses import parse_address
    except ImportError:
        return CryptoAddress(asset, "", raw, raw, valid=False, reason="no address validator")
    return parse_address(asset, raw)


def _date_cell(value: object) -> list[str]:
    """Dates of a cell; numbers beyond a plausible year are Excel serial dates."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 2100:
        from openpyxl.utils.datetime import from_excel

        try:
            return parse_jp_dates(from_excel(value))
        except (ValueError, OverflowError, TypeError):
            return []
    return parse_jp_dates(value)


def _schema_hint(text: str) -> str | None:
    if "個人" in text:
        return "Person"
    if "船舶" in text:
        return "Vessel"
    if any(word in text for word in ("団体", "法人", "企業", "組織", "機関")):
        return "LegalEntity"
    return None


class MofXlsxFormat:
    """Japan Ministry of Finance sanctions list workbook."""

    name = "jp_mof_xlsx"
    default_source = "jp_mof_sanctions"
    description = "Japan MOF 経済制裁措置及び対象者リスト (XLSX, one sheet per programme)"

    def sniff(self, path: Path, head: bytes) -> bool:
        if head[:2] != b"PK" or path.suffix.lower() not in (".xlsx", ".xlsm"):
            return False
        try:
            with zipfile.ZipFile(path) as zf:
                members = sorted(
                    (i for i in zf.infolist() if i.filename.startswith("xl/")),
                    key=lambda i: "sharedStrings" not in i.filename,
                )
                for info in members:
                    if info.filename.endswith(".xml"):
                        with zf.open(info) as fh:
                            data = fh.read(4 * 1024**2).lower()
                        if any(marker in data for marker in _SNIFF_MARKERS):
                            return True
        except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError):
            return False
        return False

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        for path in paths:
            yield from self._parse_file(path, source, report)

    def _parse_file(self, path: Path, source: str, report: ParseReport) -> Iterator[Entity]:
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except _ERRORS as exc:
            raise ParseError(path, None, f"not a readable XLSX workbook: {exc!r}") from exc
        notices: list[str] = []
        title_dates: list[str] = []
        sheets_with_header = 0
        try:
            for index, ws in enumerate(wb.worksheets, start=1):
                where = f"sheet {ws.title!r}"
                try:
                    rows = ws.iter_rows(values_only=True)
                    sheet = self._read_header(index, ws.title, rows, report)
                    if sheet is None:
                        report.warn(f"{path}: {where}: no 告示日付 header row; sheet skipped")
                        continue
                    sheets_with_header += 1
                    title_dates.extend(sheet.title_dates)
                    yield from self._read_rows(path, sheet, rows, source, report, notices)
                except ParseError:
                    raise
                except _ERRORS as exc:
                    raise ParseError(path, where, f"unreadable sheet: {exc!r}") from exc
        finally:
            wb.close()
        if sheets_with_header == 0:
            raise ParseError(path, None, "no sheet has a 告示日付 header row: not a MOF list")
        version = max(title_dates) if title_dates else (max(notices) if notices else None)
        if version and (report.version is None or version > report.version):
            report.version = version

    def _read_header(
        self, index: int, name: str, rows: Iterator[tuple[Any, ...]], report: ParseReport
    ) -> Sheet | None:
        """Consume the title rows and the header row; None when no header row turns up."""
        title_dates: list[str] = []
        for row_no, row in enumerate(rows, start=1):
            cells = [cell_text(v) for v in row]
            filled = [c for c in cells if c]
            if any(squash(c).startswith("告示日") for c in filled[:3]):
                columns: dict[int, str] = {}
                for col, text in enumerate(cells):
                    key = column_key(text)
                    if key and key not in columns.values():
                        columns[col] = key
                    elif text and not key:
                        report.warn(f"sheet {name!r}: header {text!r} not understood")
                return Sheet(index, name, columns, row_no, title_dates)
            for text in filled:
                if _VERSION_MARK.search(text):
                    title_dates.extend(parse_jp_dates(text))
            if row_no > 50:
                return None
        return None

    def _read_rows(
        self,
        path: Path,
        sheet: Sheet,
        rows: Iterator[tuple[Any, ...]],
        source: str,
        report: ParseReport,
        notices: list[str],
    ) -> Iterator[Entity]:
        seen: set[str] = set()
        hint = _schema_hint(sheet.name)
        for row_no, row in enumerate(rows, start=sheet.header_row + 1):
            values: dict[str, Any] = {}
            for col, key in sheet.columns.items():
                if col < len(row) and cell_text(row[col]):
                    values[key] = row[col]
            filled = [cell_text(v) for v in row if cell_text(v)]
            if not filled:
                continue
            if not any(k in values for k in ("name_ja", "name_en", "name")):
                if len(filled) == 1 and (sub := _schema_hint(filled[0])):
                    hint = sub  # a sub-heading row such as （個人） / （団体）
                elif len(filled) > 1:
                    report.warn(f"{path}:sheet {sheet.name!r} row {row_no}: row without a name")
                continue
            native = self._native_id(sheet, values, row_no, seen, report, path)
            try:
                entity = self._entity(sheet, values, native, source, hint, notices)
            except _ERRORS as exc:
                where = f"sheet {sheet.name!r} row {row_no}"
                raise ParseError(path, where, f"unreadable row: {exc!r}") from exc
            if not entity.names:
                report.warn(f"{path}:sheet {sheet.name!r} row {row_no}: no usable name; skipped")
                continue
            yield entity

    def _native_id(
        self,
        sheet: Sheet,
        values: dict[str, Any],
        row_no: int,
        seen: set[str],
        report: ParseReport,
        path: Path,
    ) -> str:
        number = "".join(nfkc(cell_text(values.get("number"))).split())
        native = f"{sheet.index}-{number}" if number else f"{sheet.index}-r{row_no}"
        if native in seen:
            report.warn(f"{path}:sheet {sheet.name!r} row {row_no}: duplicate number {number!r}")
            native = f"{native}-r{row_no}"
        seen.add(native)
        return native

    def _entity(
        self,
        sheet: Sheet,
        values: dict[str, Any],
        native: str,
        source: str,
        hint: str | None,
        notices: list[str],
    ) -> Entity:
        text = {k: cell_text(v) for k, v in values.items()}
        birth_dates = _date_cell(values.get("birth_date"))
        schema = hint
        if schema is None:
            person = birth_dates or ("passport" in text and not is_unknown(text["passport"]))
            schema = "Person" if person else "LegalEntity"
        entity = Entity(f"{source}:{native}", schema, source, native)
        for key, lang in (("name_ja", "jpn"), ("name_en", "eng"), ("name", None)):
            main, extra = split_names(text.get(key, ""))
            if lang is None and main:
                lang = "jpn" if has_japanese(main) else None
            entity.add_name(main, NameKind.PRIMARY, lang=lang)
            for alias, kind in extra:
                entity.add_name(alias, kind, lang="jpn" if has_japanese(alias) else None)
        for alias, kind in split_aliases(text.get("alias", "")):
            entity.add_name(alias, kind, lang="jpn" if has_japanese(alias) else None)
        notice = _date_cell(values.get("notice"))
        if notice:
            entity.add("createdAt", notice[0])
            notices.append(notice[0])
        entity.add("birthDate", *birth_dates)
        for key, prop in _SIMPLE_PROPS.items():
            if key in text and not is_unknown(text[key]):
                entity.add(prop, text[key])
        for value in split_values(text.get("nationality", "")):
            for part in re.split(r"又は|及び|または|および", value):
                if part.strip():
                    entity.add("nationality", country_code(part) or part.strip())
        entity.add("passportNumber", *split_values(nfkc(text.get("passport", ""))))
        entity.add("idNumber", *split_values(nfkc(text.get("id", ""))))
        entity.add("address", *split_values(text.get("address", ""), _LINE_SEP))
        gender = text.get("gender", "")
        entity.add("gender", "male" if "男" in gender else "female" if "女" in gender else None)
        other = text.get("other", "")
        if other and not is_unknown(other):
            entity.add("notes", other)
            for asset, raw in find_crypto(other):
                entity.crypto.append(to_address(asset, raw))
        entity.add("program", sheet.name)
        return entity


FORMAT = MofXlsxFormat()
