"""A worksheet's values read row by row with lxml, for the sheets calamine must not read.

calamine builds one dense grid from the first to the last used cell: a single cell at XFD1048576
is 17 billion cells, and a million-row log needs a gigabyte. `needs_rows` tells such a sheet from
its cell references before anything is read; `SheetRows` then streams its rows, columns A–Z only
(where every sheet the program reads keeps its data). Values come out as calamine
gives them: numbers as float, dates (by the cell's number format) as date or datetime, errors as "".
"""
from __future__ import annotations

import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

from lxml import etree

from xlpipeline.errors import FileProblem
from xlpipeline.ooxml.numfmt import date_styles
from xlpipeline.ooxml.package import parse_xml, read_part
from xlpipeline.ooxml.parts import DamagedPart, EXCEL_EPOCH, q, row_number, split_ref, workbook_part

WIDTH = 26  # columns A–Z
CHUNK = 4 * 2**20
MEMO_SIZE = 50_000
# a reference beyond column Z or beyond row 199,999 (calamine's grid would pass 5 million cells)
FAR = re.compile(rb'r="(?:[A-Z]{2}|[A-Z]*(?:[2-9]\d{5}|[1-9]\d{6,})")')
ITERPARSE = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": True}
ROW, CELL, VALUE, TEXT, RUN, INLINE = q("row"), q("c"), q("v"), q("t"), q("r"), q("is")


def needs_rows(zin: zipfile.ZipFile, part: str) -> bool:
    """Whether the sheet has a cell or row reference far enough out to make calamine's grid huge."""
    tail = b""
    with zin.open(part) as stream:
        while chunk := stream.read(CHUNK):
            if FAR.search(tail + chunk):
                return True
            tail = chunk[-16:]
    return False


class SheetRows:
    """A sheet's rows from A1 on, columns A–Z, read afresh on each iteration: a million-row log is
    validated row by row and never held whole. A blank cell is "", and a row ends at its last value."""

    def __init__(self, path: Path, part: str, where: str):
        self.path, self.part, self.where = path, part, where

    def __iter__(self) -> Iterator[list]:
        with zipfile.ZipFile(self.path) as zin:
            yield from iter_rows(zin, self.part, self.where)


def iter_rows(zin: zipfile.ZipFile, part: str, where: str) -> Iterator[list]:
    reader = _Cells(shared_strings(zin), date_styles(zin), where)
    previous, handed = -1, 0  # the last row element's index; how many rows were handed out
    try:
        with zin.open(part) as stream:
            for row in _elements(stream, ROW):
                index = row_number(row, previous + 2) - 1
                if index <= previous:
                    raise FileProblem(f"{where}: 第 {index + 1} 行出现在第 {previous + 1} 行之后（工作表已损坏）")
                previous = index
                values = reader.values(row)
                if values:
                    for _ in range(index - handed):
                        yield []
                    yield values
                    handed = index + 1
    except etree.XMLSyntaxError as exc:
        raise FileProblem(f"{where}: XML 损坏：{exc}") from None
    except DamagedPart as exc:  # a row or cell position no application writes
        raise FileProblem(f"{where}: {exc}（工作表已损坏）") from None


def _elements(stream, tag: str):
    """Each `tag` element of a streamed part, read in full; the ones handed out before are emptied
    and dropped in batches (dropping each one at once costs more than parsing it)."""
    for count, (_, element) in enumerate(etree.iterparse(stream, tag=tag, **ITERPARSE), start=1):
        yield element
        element.clear(keep_tail=True)
        if count % 4096 == 0:
            del element.getparent()[:-1]


def shared_strings(zin: zipfile.ZipFile) -> list[str]:
    rels = parse_xml(read_part(zin, "xl/_rels/workbook.xml.rels"), "xl/_rels/workbook.xml.rels")
    part = workbook_part(rels, "sharedStrings")
    if part is None or part not in zin.namelist():
        return []
    try:
        with zin.open(part) as stream:
            strings = [rich_text(item) for item in _elements(stream, q("si"))]
    except etree.XMLSyntaxError as exc:
        raise FileProblem(f"{part}: XML 损坏：{exc}") from None
    return strings


def rich_text(element: etree._Element) -> str:
    """The text of a shared or inline string: its own <t>, or its runs' (phonetic guides left out)."""
    own = element.find(TEXT)
    if own is not None:
        return own.text or ""
    return "".join(run.findtext(TEXT) or "" for run in element.iterchildren(RUN))


class _Cells:
    def __init__(self, strings: list[str], dates: frozenset[int], where: str):
        self.strings, self.dates, self.where = strings, dates, where
        self.memo: dict[tuple, object] = {}  # a log repeats few distinct numbers, dates and shared strings

    def values(self, row: etree._Element) -> list:
        values: list = []
        column = -1
        for cell in row.iterchildren(CELL):  # the hot loop of a million-row log: kept flat
            ref = cell.get("r")
            column = column + 1 if ref is None else self._column(ref)
            if column >= WIDTH:
                continue
            value = self._value(cell)
            if value != "":
                if column >= len(values):
                    values.extend([""] * (column + 1 - len(values)))
                values[column] = value
        return values

    @staticmethod
    def _column(ref: str) -> int:
        if "A" <= ref[:1] <= "Z" and ref[1:2].isdigit() and ref[1:2] != "0" and ref[1:].isdigit():
            return ord(ref[0]) - 65  # columns A–Z, nearly every cell: without the regular expression
        return split_ref(ref)[1] - 1

    def _value(self, cell: etree._Element):
        kind = cell.get("t")
        last = cell[-1] if len(cell) else None
        if kind == "inlineStr":
            return rich_text(last) if last is not None and last.tag == INLINE else ""
        raw = last.text if last is not None and last.tag == VALUE else None
        if raw is None or kind == "e":
            return ""
        if kind == "str":
            return raw
        key = (kind, raw, cell.get("s"))
        value = self.memo.get(key)
        if value is None:
            value = self._convert(kind, raw, key[2], cell.get("r"))
            if len(self.memo) < MEMO_SIZE:  # a column of distinct numbers must not fill memory
                self.memo[key] = value
        return value

    def _convert(self, kind: str | None, raw: str, style: str | None, ref: str | None):
        try:
            if kind == "s":
                return self.strings[int(raw)]
            if kind == "b":
                return raw.strip() == "1"
            if kind == "d":
                return _plain_date(datetime.fromisoformat(raw))
            number = float(raw)
            dated = int(style or 0) in self.dates
        except (ValueError, IndexError):
            raise FileProblem(f"{self.where}: 单元格 {ref or ''} 已损坏（值“{raw[:20]}”）") from None
        if dated and 0 <= number < 2958466:
            return _plain_date(EXCEL_EPOCH + timedelta(days=number))
        return number


def _plain_date(moment: datetime) -> date | datetime:
    return moment.date() if moment == datetime.combine(moment.date(), datetime.min.time()) else moment
