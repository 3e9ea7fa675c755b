"""An in-memory stand-in for the part of xlwings' Book/Sheet/Range API that xlpipeline uses.

It behaves like Excel where it matters to us: a text starting with "=" assigned to a cell becomes
a formula, one starting with an apostrophe is stored as text; numbers read back as floats, dates
as datetimes, blanks as None. Loaded from an .xlsx with openpyxl.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter

REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def parse(ref: str) -> tuple[int, int]:
    letters, row = REF.match(ref).groups()
    return int(row), column_index_from_string(letters)


class FakeApp:
    def __init__(self, answers=()):
        self.alerts: list[tuple[str, str, str]] = []
        self.answers = list(answers)

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append((title, prompt, buttons))
        return self.answers.pop(0) if self.answers else "ok"


class FakeCell:
    def __init__(self, row: int, column: int):
        self.row, self.column = row, column


class FakeRange:
    def __init__(self, sheet: FakeSheet, top: tuple[int, int], bottom: tuple[int, int] | None = None,
                 address: str | None = None):
        self.sheet, self.top, self.bottom = sheet, top, bottom or top
        self.address = address

    def options(self, ndim=None, **_):
        return self

    @property
    def last_cell(self) -> FakeCell:
        return FakeCell(*self.bottom)

    def _cells(self):
        return [[(r, c) for c in range(self.top[1], self.bottom[1] + 1)] for r in range(self.top[0], self.bottom[0] + 1)]

    @property
    def value(self):
        rows = [[self.sheet.values.get(cell) for cell in row] for row in self._cells()]
        return rows[0][0] if self.top == self.bottom else rows

    @value.setter
    def value(self, value) -> None:
        assert self.top == self.bottom, "the stand-in writes single cells"
        self.sheet.formulas.pop(self.top, None)
        if isinstance(value, str) and value.startswith("'"):
            self.sheet.values[self.top] = value[1:]
        elif isinstance(value, str) and value.startswith("="):
            self.sheet.formulas[self.top] = value  # Excel would make it a formula: exactly what must not happen
            self.sheet.values[self.top] = None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self.sheet.values[self.top] = float(value)
        else:
            self.sheet.values[self.top] = value
        self.sheet.written.append(self.top)

    @property
    def formula(self):
        """xlwings: a string for one cell, a tuple of row tuples for several."""
        def one(cell):
            if cell in self.sheet.formulas:
                return self.sheet.formulas[cell]
            value = self.sheet.values.get(cell)
            return "" if value is None else str(value)
        rows = tuple(tuple(one(cell) for cell in row) for row in self._cells())
        return rows[0][0] if self.top == self.bottom else rows

    @formula.setter
    def formula(self, text: str) -> None:
        assert self.top == self.bottom, "the stand-in writes single cells"
        self.sheet.formulas[self.top] = text
        self.sheet.values[self.top] = None
        self.sheet.written.append(self.top)

    @property
    def number_format(self) -> str:
        """xlwings Range.number_format: Excel's NumberFormat, "General" for a cell never formatted."""
        return self.sheet.number_formats.get(self.top, "General")

    @number_format.setter
    def number_format(self, code: str) -> None:
        self.sheet.number_formats[self.top] = code

    @property
    def row_height(self) -> float:
        return self.sheet.row_heights.get(self.top[0], 15.0)

    @row_height.setter
    def row_height(self, points: float) -> None:
        self.sheet.row_heights[self.top[0]] = points

    @property
    def color(self):
        return self.sheet.colors.get(self.top)

    @color.setter
    def color(self, rgb) -> None:
        self.sheet.colors[self.top] = rgb

    def select(self) -> None:
        self.sheet.book.selection = (self.sheet.name, self.address)


class FakeSheet:
    def __init__(self, book: FakeBook, name: str):
        self.book, self.name = book, name
        self.values: dict[tuple[int, int], object] = {}
        self.formulas: dict[tuple[int, int], str] = {}
        self.colors: dict[tuple[int, int], tuple] = {}
        self.row_heights: dict[int, float] = {}
        self.number_formats: dict[tuple[int, int], str] = {}
        self.written: list[tuple[int, int]] = []

    def range(self, first, second=None) -> FakeRange:
        if isinstance(first, tuple):
            return FakeRange(self, first, second)
        if "," in first:  # a multi-area selection
            return FakeRange(self, parse(first.split(",")[0]), address=first)
        start, _, end = first.partition(":")
        return FakeRange(self, parse(start), parse(end) if end else None, address=first)

    @property
    def used_range(self) -> FakeRange:
        cells = list(self.values) + list(self.formulas) or [(1, 1)]
        return FakeRange(self, (1, 1), (max(r for r, _ in cells), max(c for _, c in cells)))

    def activate(self) -> None:
        self.book.active_sheet = self.name

    def cell(self, ref: str):
        return self.values.get(parse(ref))


class FakeSheets:
    def __init__(self, sheets: list[FakeSheet]):
        self._sheets = sheets

    def __iter__(self):
        return iter(self._sheets)

    def __getitem__(self, name: str) -> FakeSheet:
        return next(s for s in self._sheets if s.name == name)


class FakeBook:
    def __init__(self, fullname: Path, app: FakeApp | None = None):
        self.fullname = str(fullname)
        self.app = app or FakeApp()
        self.sheets = FakeSheets([])
        self.selection = None
        self.active_sheet = None

    @classmethod
    def from_xlsx(cls, path: Path, app: FakeApp | None = None) -> FakeBook:
        book = cls(path, app)
        sheets = []
        for ws in load_workbook(path).worksheets:
            sheet = FakeSheet(book, ws.title)
            sheet.row_heights = {r: d.height for r, d in ws.row_dimensions.items() if d.height}
            for row in ws.iter_rows():
                for cell in row:
                    if cell.number_format != "General":
                        sheet.number_formats[(cell.row, cell.column)] = cell.number_format
                    if cell.value is None:
                        continue
                    if cell.data_type == "f":
                        sheet.formulas[(cell.row, cell.column)] = str(cell.value)
                    elif isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                        sheet.values[(cell.row, cell.column)] = float(cell.value)
                    elif isinstance(cell.value, date) and not isinstance(cell.value, datetime):
                        sheet.values[(cell.row, cell.column)] = datetime(cell.value.year, cell.value.month,
                                                                         cell.value.day)
                    else:
                        sheet.values[(cell.row, cell.column)] = cell.value
            sheets.append(sheet)
        book.sheets = FakeSheets(sheets)
        return book


def address(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"
