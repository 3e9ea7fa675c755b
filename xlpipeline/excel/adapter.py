"""`ExcelBook`: a workbook open in Excel, through the subset of xlwings' API used here:
`book.fullname`, `book.sheets` (iterate, `[name]`), `sheet.api.Cells.Find` (the last filled cell),
`sheet.range(a, b).options(ndim=2).value`, `sheet.range(ref).value/formula/color`, `.api.HasFormula`,
`.select()`, `.row_height`, `sheet.activate()`, `book.app.alert(...)`, `app.screen_updating`,
`app.calculation`.

Excel converts what it is given as it converts typed input ("001" → 1, "1-2" → a date), so every
text is written behind an apostrophe (Excel's text prefix, not part of the value); and it reads a
text cell entered that way as "=…" in `.formula`, so formula cells are told by `HasFormula`.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from xlpipeline.errors import UserError
from xlpipeline.workbook.book import Grid, match_sheets
from xlpipeline.ooxml.parts import Formula, column_letters
from xlpipeline.ooxml.patch import Edits, Heights, Pages, PatchError

MARK_COLOUR = (255, 199, 206)  # light red, as Excel's "bad" cell style


def excel_value(value):
    """What to hand to Excel for a value the library wants written."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value:
        return "'" + value  # stored as this very text: never a formula, a number or a date
    return value


def _excel(action, sheet: str, ref: str) -> None:
    """One write into Excel; Excel refusing it (a COM error) is a message naming the cell."""
    try:
        action()
    except Exception as exc:
        if type(exc).__name__ != "com_error":  # pywintypes.com_error, without importing pywin32
            raise
        raise UserError(f"{sheet}!{ref}: Excel 拒绝写入（工作表是否受保护？请撤销保护后再运行）：{_com_text(exc)}") from None


def _com_text(exc: Exception) -> str:
    """The message Excel gave, from a com_error's (hresult, text, (…, source, description, …), arg)."""
    args = exc.args
    detail = args[2] if len(args) > 2 and isinstance(args[2], tuple) and len(args[2]) > 2 else None
    return str(detail[2] if detail and detail[2] else (args[1] if len(args) > 1 else exc))


XL_FORMULAS, XL_PART, XL_BY_ROWS, XL_BY_COLUMNS, XL_PREVIOUS = -4123, 2, 1, 2, 2  # Excel's constants


def _filled_extent(sheet) -> tuple[int, int]:
    """The last row and column holding a value or a formula. Excel's UsedRange also reaches cells
    only formatted (a whole column coloured reaches row 1048576): reading that would be huge."""
    def last(order: int, attribute: str) -> int:
        found = sheet.api.Cells.Find(What="*", LookIn=XL_FORMULAS, LookAt=XL_PART, SearchOrder=order,
                                     SearchDirection=XL_PREVIOUS)
        return getattr(found, attribute) if found is not None else 1
    return last(XL_BY_ROWS, "Row"), last(XL_BY_COLUMNS, "Column")


class ExcelBook:
    in_file = False  # Excel holds the workbook: its protected 实时计分 sheet is not ours to rewrite there

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
        rows, columns = _filled_extent(sheet)
        values = sheet.range((1, 1), (rows, columns)).options(ndim=2).value or []
        return [["" if v is None else v for v in row] for row in values]

    def formulas(self, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
        present = [s.name for s in self.book.sheets]
        return {name: self._formulas(self.book.sheets[name]) for name in names if name in present}

    def _formulas(self, sheet) -> dict[str, str]:
        rows = sheet.range((1, 1), _filled_extent(sheet)).formula  # one call: a tuple of row tuples
        rows = rows if isinstance(rows, tuple) else ((rows,),)
        candidates = {f"{column_letters(c)}{r}": text[1:] for r, row in enumerate(rows, start=1)
                      for c, text in enumerate(row, start=1) if isinstance(text, str) and text.startswith("=")}
        # a text cell entered as '=… reads as =… too: only HasFormula tells them apart
        return {ref: text for ref, text in candidates.items() if sheet.range(ref).api.HasFormula}

    def number_formats(self, sheet: str, refs: set[str]) -> dict[str, str]:
        target = self._sheet(sheet)
        return {ref: target.range(ref).number_format or "General" for ref in refs}

    def check_writable(self) -> None:
        """Excel holds the workbook itself: writing into it is always possible."""

    def write(self, edits: Edits, heights: Heights | None = None, pages: Pages | None = None) -> Path | None:
        """`pages` is not applied: Excel paginates an open workbook itself (manual breaks there need
        the Excel-only HPageBreaks API, which this adapter does not drive yet). Screen updating is
        off and calculation manual while writing (else each write recalculates every volatile
        XLP_ cell), and both are put back as they were."""
        app = self.book.app
        updating, calculation = app.screen_updating, app.calculation
        app.screen_updating, app.calculation = False, "manual"
        try:
            self._write(edits, heights or {})
        finally:
            app.screen_updating, app.calculation = updating, calculation
        return None  # Excel keeps the previous state until the user saves

    def _write(self, edits: Edits, heights: Heights) -> None:
        for name, rows in heights.items():
            sheet = self._sheet(name)
            for row, needed in rows.items():
                line = sheet.range(f"A{row}")
                if (line.row_height or 0) < needed:
                    _excel(lambda: setattr(line, "row_height", needed), name, f"A{row}")
        for name, cells in edits.items():
            sheet = self._sheet(name)
            for ref, value in cells.items():
                if not isinstance(value, Formula) and sheet.range(ref).api.HasFormula:
                    raise PatchError(f"{name}!{ref}: 是公式单元格，程序不会覆盖公式；请清除该单元格的公式")
            for ref, value in cells.items():
                cell = sheet.range(ref)
                if not isinstance(value, Formula):
                    _excel(lambda: setattr(cell, "value", excel_value(value)), name, ref)
                elif value.replace:  # restoring ours: Excel computes it
                    _excel(lambda: setattr(cell, "formula", "=" + value.text), name, ref)
                # otherwise our own formula is in place and Excel computes it: nothing to write

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

