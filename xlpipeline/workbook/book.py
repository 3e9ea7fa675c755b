"""The workbook as the library sees it: read sheets as grids of cell values, write cells.

Two implementations serve the same library functions: `FileBook` here (an .xlsx/.xlsm on disk,
read with calamine — or row by row where calamine's dense grid would be huge — and patched
crash-safely), and `xlpipeline.excel.adapter.ExcelBook` (a workbook
open in Excel, through xlwings). Nothing above this layer knows which one it has.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterable, Protocol

from python_calamine import CalamineWorkbook

from xlpipeline.errors import FileProblem
from xlpipeline.ooxml.cells import SheetRows, needs_rows
from xlpipeline.ooxml.numfmt import read_number_formats
from xlpipeline.ooxml.parts import find_sheets, has_macro_sheets, sheet_parts
from xlpipeline.ooxml.package import checked_package
from xlpipeline.ooxml.locks import check_not_open
from xlpipeline.ooxml.safesave import file_digest, patch_file
from xlpipeline.ooxml.patch import Edits, Heights, Pages, patch_package, read_formulas

Grid = Iterable[list]  # rows of cell values from A1 on (a blank cell is ""), iterable more than once


def match_sheets(wanted: tuple[str, ...], present: list[str], where: str) -> dict[str, str]:
    """`find_sheets`, where a missing sheet is a FileProblem that lists the sheets there and, for a
    misspelling, the closest one."""
    found = find_sheets(wanted, present)
    problems = []
    for name in (n for n in wanted if n not in found):
        close = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
        problems.append(f"“{name}”" + (f"（是不是“{close[0]}”？）" if close else ""))
    if problems:
        raise FileProblem(f"{where}: 缺少工作表 {'、'.join(problems)}；工作簿中的工作表："
                          + "、".join(f"“{n}”" for n in present))
    return found


def present_grids(book: "Book", names: tuple[str, ...]) -> dict[str, Grid]:
    """Those of the named sheets that the workbook has (sheets later versions added, say), read in
    one pass where all are there."""
    try:
        return book.grids(names)
    except FileProblem:
        if len(names) == 1:
            return {}
    return {k: v for name in names for k, v in present_grids(book, (name,)).items()}


class Book(Protocol):
    in_file: bool  # writes go into the file itself (not through an application holding it open)

    @property
    def path(self) -> Path:
        """Where the workbook lives (outputs go beside it)."""

    def grids(self, names: tuple[str, ...]) -> dict[str, Grid]:
        """The named sheets' values; FileProblem when one is missing."""

    def formulas(self, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
        """The named sheets' formula cells: reference → formula text (without "=")."""

    def number_formats(self, sheet: str, refs: set[str]) -> dict[str, str]:
        """The number format code of each named cell ("General" where none is set)."""

    def check_writable(self) -> None:
        """Raise before any work when writing would be refused."""

    def write(self, edits: Edits, heights: Heights | None = None, pages: Pages | None = None) -> Path | None:
        """Write cell values (text stays text), make rows at least as tall as `heights` asks, and
        print each row span in `pages` on one page where it fits; returns a backup's path where one
        was kept."""


class FileBook:
    in_file = True

    def __init__(self, path: Path):
        self._path = Path(path)
        self._read: str | None = None  # the digest of the file as first read: a write checks it is still so

    def _reading(self) -> None:
        if self._read is None and self._path.is_file():
            self._read = file_digest(self._path)

    @property
    def path(self) -> Path:
        return self._path

    def grids(self, names: tuple[str, ...]) -> dict[str, Grid]:
        """Sheets read by calamine, or row by row where calamine's dense grid would be huge."""
        self._reading()
        with checked_package(self._path) as zin:
            parts = sheet_parts(zin)
            actual = match_sheets(names, list(parts), self._path.name)
            where = {n: f"{self._path.name}: 工作表“{actual[n]}”（{parts[actual[n]]}）" for n in names}
            everything = has_macro_sheets(zin)  # calamine cannot open such a workbook at all
            grids = {n: SheetRows(self._path, parts[actual[n]], where[n])
                     for n in names if everything or needs_rows(zin, parts[actual[n]])}
        rest = [n for n in names if n not in grids]
        book = self._calamine() if rest else None
        for name in rest:
            try:
                grids[name] = book.get_sheet_by_name(actual[name]).to_python(skip_empty_area=False)
            except Exception as exc:  # calamine reports damaged sheets with assorted exception types
                raise FileProblem(f"{where[name]}: 无法读取：{exc}") from None
        return grids

    def _calamine(self) -> CalamineWorkbook:
        try:
            return CalamineWorkbook.from_path(str(self._path))
        except Exception as exc:  # a package part calamine reads on opening is damaged
            raise FileProblem(f"{self._path}: 无法读取工作簿：{exc}") from None

    def formulas(self, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
        self._reading()
        with open(self._path, "rb") as source:
            return read_formulas(source, names)

    def number_formats(self, sheet: str, refs: set[str]) -> dict[str, str]:
        self._reading()
        with open(self._path, "rb") as source:
            return read_number_formats(source, sheet, refs)

    def check_writable(self) -> None:
        check_not_open(self._path)

    def write(self, edits: Edits, heights: Heights | None = None, pages: Pages | None = None) -> Path | None:
        return patch_file(self._path, lambda source, out: patch_package(source, out, edits, heights, pages),
                          unchanged=self._read)
