"""An in-memory stand-in for the part of xlwings' Book/Sheet/Range API that xlpipeline uses.

It behaves as Excel and xlwings do where it matters to us (each case cites the behaviour):
- a text assigned to a cell is converted as Excel converts typed input: "=…" becomes a formula,
  "001" and "50%" numbers, "2026-03-01" and "1-2" dates; a leading apostrophe keeps the text, and
  the apostrophe is not part of the value or of `.formula` (it is Excel's PrefixCharacter);
- reading: numbers as float, dates as datetime, blanks and error cells as None (xlwings' default,
  `err_to_str=False`), a formula cell as its calculated value, a currency-formatted cell as
  Decimal (COM's VT_CY, which pywin32 hands over as Decimal);
- `.value` of one cell is a scalar and of one row or column a flat list, unless `options(ndim=2)`;
- the used range reaches the last formatted cell, not only the last filled one;
- a protected sheet refuses writes with a COM error; a book may be unsaved (no folder) or
  read-only, and the app may be a second Excel instance with its own active book.
Loaded from an .xlsx with openpyxl.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter

REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def parse(ref: str) -> tuple[int, int]:
    letters, row = REF.match(ref).groups()
    return int(row), column_index_from_string(letters)


class com_error(Exception):  # noqa: N801 (pywintypes.com_error, as a COM call that Excel refused raises it)
    pass


CURRENCY = re.compile(r"[¥$€£]|\[\$")
NUMBER_TEXT = re.compile(r"^[+-]?\d+(\.\d+)?(%?)$")
DATE_TEXT = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})$")


def as_excel_converts(text: str):
    """What Excel stores for `text` typed or assigned into a General cell."""
    number = NUMBER_TEXT.match(text)
    if number:
        return float(text.rstrip("%")) / (100 if number[2] else 1)
    day = DATE_TEXT.match(text)
    if day:
        year = int(day[1]) if day[1] else datetime.now().year
        try:
            return datetime(year, int(day[2]), int(day[3]))
        except ValueError:
            return text
    return text


class XlwingsError(Exception):
    """xlwings' own error (xlwings.XlwingsError), as `Book.fullname` raises it for a OneDrive or
    SharePoint workbook whose synced local folder it cannot find."""


class FakeAppApi:
    """COM's Application: ActiveWorkbook is Nothing (None) while no workbook but add-ins is open."""

    def __init__(self, books: "FakeBooks"):
        self._books, self.ActiveProtectedViewWindow = books, None

    @property
    def ActiveWorkbook(self):  # noqa: N802 (Excel's name)
        return self._books.current.api if self._books.current is not None else None


class FakeApp:
    def __init__(self, answers=()):
        self.alerts: list[tuple[str, str, str]] = []
        self.answers = list(answers)
        self.screen_updating, self.calculation = True, "automatic"
        self.while_writing: list[tuple[bool, str]] = []  # (screen_updating, calculation) at each write
        self.books = FakeBooks(self)
        self.api = FakeAppApi(self.books)

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
        self.ndim = ndim
        return self

    ndim = None

    @property
    def api(self):
        return FakeRangeApi(self)

    @property
    def last_cell(self) -> FakeCell:
        return FakeCell(*self.bottom)

    def _cells(self):
        return [[(r, c) for c in range(self.top[1], self.bottom[1] + 1)] for r in range(self.top[0], self.bottom[0] + 1)]

    @property
    def value(self):
        rows = [[self.sheet.read(cell) for cell in row] for row in self._cells()]
        if self.ndim == 2:
            return rows
        if self.top == self.bottom:
            return rows[0][0]
        if len(rows) == 1 or len(rows[0]) == 1:  # xlwings: a row or a column reads as a flat list
            return [v for row in rows for v in row]
        return rows

    @value.setter
    def value(self, value) -> None:
        if isinstance(value, list):  # xlwings: a nested list fills the range row by row
            for r, row in enumerate(value, start=self.top[0]):
                for c, item in enumerate(row, start=self.top[1]):
                    FakeRange(self.sheet, (r, c)).value = item
            return
        assert self.top == self.bottom, "a single value goes into a single cell"
        self.sheet.check_writable()
        self.sheet.formulas.pop(self.top, None)
        self.sheet.prefixed.discard(self.top)
        if isinstance(value, str) and value.startswith("'"):
            self.sheet.values[self.top] = value[1:]
            self.sheet.prefixed.add(self.top)
        elif isinstance(value, str) and value.startswith("="):
            self.sheet.formulas[self.top] = value  # Excel would make it a formula: exactly what must not happen
            self.sheet.values[self.top] = None
        elif isinstance(value, str):
            self.sheet.values[self.top] = as_excel_converts(value)
        elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            self.sheet.values[self.top] = float(value)
        else:
            self.sheet.values[self.top] = value
        app = self.sheet.book.app
        app.while_writing.append((app.screen_updating, app.calculation))
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
        self.sheet.check_writable()
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


class FakeRangeApi:
    """`range.api`: the COM Range; only what the adapter asks of it."""

    def __init__(self, cells: FakeRange):
        self.cells = cells

    @property
    def HasFormula(self) -> bool:  # noqa: N802 (Excel's name)
        return self.cells.top in self.cells.sheet.formulas


class FakeSheet:
    def __init__(self, book: FakeBook, name: str):
        self.book, self.name = book, name
        self.values: dict[tuple[int, int], object] = {}
        self.cached: dict[tuple[int, int], object] = {}  # formula cells' last calculated values
        self.errors: set[tuple[int, int]] = set()
        self.prefixed: set[tuple[int, int]] = set()     # text cells entered with an apostrophe
        self.protected = False
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

    def read(self, cell: tuple[int, int]):
        """A cell's value as xlwings returns it."""
        if cell in self.errors:
            return None
        value = self.cached.get(cell) if cell in self.formulas else self.values.get(cell)
        if isinstance(value, float) and CURRENCY.search(self.number_formats.get(cell, "")):
            return Decimal(repr(value))
        return value

    def check_writable(self) -> None:
        if self.protected:
            raise com_error(-2147352567, "发生意外。", (0, "Microsoft Excel", "无法更改受保护的工作表上的单元格", None, 0,
                                                       -2146827284), None)

    @property
    def used_range(self) -> FakeRange:
        """Excel's UsedRange reaches formatted empty cells too."""
        cells = [*self.values, *self.formulas, *self.number_formats, *self.colors] or [(1, 1)]
        return FakeRange(self, (1, 1), (max(r for r, _ in cells), max(c for _, c in cells)))

    @property
    def api(self):
        return SimpleNamespace(Cells=SimpleNamespace(Find=self._find))

    def _find(self, What, LookIn, LookAt, SearchOrder, SearchDirection):  # noqa: N803 (Excel's names)
        """Cells.Find("*", …, xlPrevious): the last cell with a value or formula, by rows or columns."""
        assert (What, SearchDirection) == ("*", 2)
        filled = [cell for cell, value in self.values.items() if value not in (None, "")] + list(self.formulas)
        if not filled:
            return None
        row, column = max(filled, key=lambda rc: rc if SearchOrder == 1 else (rc[1], rc[0]))
        return SimpleNamespace(Row=row, Column=column)

    def activate(self) -> None:
        self.book.active_sheet = self.name

    def cell(self, ref: str):
        return self.read(parse(ref))


class FakeSheets:
    def __init__(self, sheets: list[FakeSheet]):
        self._sheets = sheets

    def __iter__(self):
        return iter(self._sheets)

    def __getitem__(self, name: str) -> FakeSheet:
        return next(s for s in self._sheets if s.name == name)


class FakeBooks:
    """`app.books`: the books of one Excel instance, and its active one. As in xlwings, `active` is
    never None: with no workbook active it wraps Excel's Nothing, and using it fails."""

    def __init__(self, app: FakeApp):
        self.app, self.all, self.current = app, [], None

    def __iter__(self):
        return iter(self.all)

    @property
    def active(self):
        return self.current if self.current is not None else NothingBook()

    @active.setter
    def active(self, book) -> None:
        self.current = book


class NothingBook:
    """xlwings' Book around Excel's Nothing: every attribute fails as COM's None does."""

    def __getattr__(self, name):
        raise AttributeError(f"'NoneType' object has no attribute '{name.title().replace('_', '')}'")


class FakeBook:
    def __init__(self, fullname: Path | str, app: FakeApp | None = None, read_only: bool = False):
        self.web_address: str | None = None  # OneDrive/SharePoint without a synced local folder
        self.fullname = str(fullname)  # an unsaved book: its name only ("工作簿1"), no folder
        self.name = Path(self.fullname).name
        self.app = app or FakeApp()
        self.app.books.all.append(self)
        if not self.name.lower().endswith(".xlam") and self.app.books.current is None:  # add-ins are never active
            self.app.books.active = self
        self.read_only = read_only
        self.sheets = FakeSheets([])
        self.selection = None
        self.active_sheet = None

    @property
    def fullname(self) -> str:
        if self.web_address:
            raise XlwingsError(f"Couldn't find your local OneDrive file, see: xlwings.org/error ({self.web_address})")
        return self._fullname

    @fullname.setter
    def fullname(self, value: str) -> None:
        self._fullname = value

    @property
    def api(self):
        return self  # `book.api.ReadOnly`, as COM's Workbook.ReadOnly

    @property
    def ReadOnly(self) -> bool:  # noqa: N802 (Excel's name)
        return self.read_only

    @classmethod
    def from_xlsx(cls, path: Path, app: FakeApp | None = None) -> FakeBook:
        book = cls(path, app)
        calculated = load_workbook(path, data_only=True)
        sheets = []
        for ws in load_workbook(path).worksheets:
            sheet = FakeSheet(book, ws.title)
            sheet.row_heights = {r: d.height for r, d in ws.row_dimensions.items() if d.height}
            sheet.protected = bool(ws.protection.sheet)  # as saved: Excel opens a protected sheet protected
            for row in ws.iter_rows():
                for cell in row:
                    at = (cell.row, cell.column)
                    if cell.number_format != "General":
                        sheet.number_formats[at] = cell.number_format
                    if cell.value is None:
                        continue
                    if cell.data_type == "f":
                        sheet.formulas[at] = str(cell.value)
                        sheet.cached[at] = _excel_value(calculated[ws.title].cell(*at).value)
                    elif cell.data_type == "e":
                        sheet.errors.add(at)
                    else:
                        sheet.values[at] = _excel_value(cell.value)
            sheets.append(sheet)
        book.sheets = FakeSheets(sheets)
        return book


def _excel_value(value):
    """A value as Excel holds it: numbers are doubles, dates datetimes, error texts are errors."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value.startswith("#") and value.endswith(("!", "?", "A")):
        return None
    return value


def address(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"


HELD: set[Path] = set()  # files a running Excel has open (XLSTART's add-in, once loaded)


def copy_unless_held(source, target) -> None:
    """shutil.copyfile as Windows lets it run: a file another process holds open cannot be replaced."""
    if Path(target) in HELD:
        raise PermissionError(13, "另一个程序正在使用此文件，进程无法访问。", str(target))
    Path(target).write_bytes(Path(source).read_bytes())
