"""`ExcelBook`: a workbook open in Excel, through the subset of xlwings' API used here:
`book.fullname`, `book.sheets` (iterate, `[name]`), `sheet.used_range.last_cell.row/column`,
`sheet.range(a, b).options(ndim=2).value`, `sheet.range(ref).value/formula/color`, `.select()`,
`.row_height`, `sheet.activate()`, `book.app.alert(...)`."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from xlpipeline.workbook.book import Grid, match_sheets
from xlpipeline.ooxml.parts import Formula, column_letters
from xlpipeline.ooxml.patch import Edits, Heights, Pages, PatchError

FORMULA_START = ("=", "+", "-", "@")
MARK_COLOUR = (255, 199, 206)  # light red, as Excel's "bad" cell style


def excel_value(value):
    """What to hand to Excel for a value the library wants written."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # the apostrophe makes Excel store text, never a formula
    return value


class ExcelBook:
    def __init__(self, book):
        self.book = book

    @property
    def path(self) -> Path:
        return Path(self.book.fullname)

    def _sheet(self, name: str):
        return self.book.sheets[match_sheets((name,), [s.name for s in self.book.sheets], self.path.name)[name]]

    def grids(self, names: tuple[str, ...]) -> dict[str, Grid]:
        return {name: self._grid(self._sheet(name)) for name in names}

    def _grid(self, sheet) -> Grid:
        last = sheet.used_range.last_cell
        values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value or []
        return [["" if v is None else v for v in row] for row in values]

    def formulas(self, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
        present = [s.name for s in self.book.sheets]
        return {name: self._formulas(self.book.sheets[name]) for name in names if name in present}

    def _formulas(self, sheet) -> dict[str, str]:
        last = sheet.used_range.last_cell
        rows = sheet.range((1, 1), (last.row, last.column)).formula  # one call: a tuple of row tuples
        rows = rows if isinstance(rows, tuple) else ((rows,),)
        return {f"{column_letters(c)}{r}": text[1:] for r, row in enumerate(rows, start=1)
                for c, text in enumerate(row, start=1) if isinstance(text, str) and text.startswith("=")}

    def number_formats(self, sheet: str, refs: set[str]) -> dict[str, str]:
        target = self._sheet(sheet)
        return {ref: target.range(ref).number_format or "General" for ref in refs}

    def check_writable(self) -> None:
        """Excel holds the workbook itself: writing into it is always possible."""

    def write(self, edits: Edits, heights: Heights | None = None, pages: Pages | None = None) -> Path | None:
        """`pages` is not applied: Excel paginates an open workbook itself (manual breaks there need
        the Excel-only HPageBreaks API, which this adapter does not drive yet)."""
        for name, rows in (heights or {}).items():
            sheet = self._sheet(name)
            for row, needed in rows.items():
                line = sheet.range(f"A{row}")
                if (line.row_height or 0) < needed:
                    line.row_height = needed
        for name, cells in edits.items():
            sheet = self._sheet(name)
            for ref, value in cells.items():
                formula = sheet.range(ref).formula
                if not isinstance(value, Formula) and isinstance(formula, str) and formula.startswith("="):
                    raise PatchError(f"{name}!{ref}: 是公式单元格，程序不会覆盖公式；请清除该单元格的公式")
            for ref, value in cells.items():
                if not isinstance(value, Formula):
                    sheet.range(ref).value = excel_value(value)
                elif value.replace:
                    sheet.range(ref).formula = "=" + value.text  # restoring ours: Excel computes it
                # otherwise our own formula is in place and Excel computes it: nothing to write
        return None  # Excel keeps the previous state until the user saves

    def mark(self, sheet_name: str, refs: list[str]) -> None:
        """Colour the offending cells and select them, so the user sees where to look."""
        sheet = self._sheet(sheet_name)
        for ref in refs:
            sheet.range(ref).color = MARK_COLOUR
        if refs:
            sheet.activate()
            sheet.range(",".join(refs[:30])).select()  # Excel limits a selection's address length

    def alert(self, text: str, title: str = "模范机关考评", buttons: str = "ok") -> str | None:
        return self.book.app.alert(text, title=title, buttons=buttons)

