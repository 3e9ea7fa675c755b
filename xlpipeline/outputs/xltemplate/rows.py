"""Where template rows land once repeated rows are expanded, and how references follow.

A repeated row r of the template becomes n rows (n may be 0); every row below moves down by
n − 1. A reference to row r points at the first copy, a range ending on r stretches to the last
copy, so `SUM(I5:I5)` under a repeated row 5 becomes `SUM(I5:I26)`; with no copies at all, a
range over them becomes 0 in formulas and disappears from merges and sqref lists.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

# A cell or range reference in a formula, not preceded by a sheet name, a function-name letter or a digit.
FORMULA_REF = re.compile(
    r"(?<![A-Za-z0-9_!.'$\]])(\$?)([A-Z]{1,3})(\$?)(\d{1,7})(?::(\$?)([A-Z]{1,3})(\$?)(\d{1,7}))?(?![A-Za-z0-9_(!])")
# A range in a sqref list or a defined name: A1, A1:B2, $A$1:$B$2, or whole rows $3:$3.
RANGE = re.compile(r"(\$?)([A-Z]{0,3})(\$?)(\d+)(?::(\$?)([A-Z]{0,3})(\$?)(\d+))?")


@dataclass
class RowMap:
    """Template row → output rows, from the repeated rows and how many copies each gets."""
    repeats: dict[int, int]  # repeated template row → number of copies

    def __post_init__(self):
        self.rows = sorted(self.repeats)

    def first(self, row: int) -> int:
        """Where template row `row` (or its first copy) lands."""
        before = self.rows[:bisect_left(self.rows, row)]
        return row + sum(self.repeats[r] - 1 for r in before)

    def last(self, row: int) -> int:
        """Where the last copy of `row` lands (for a row that is not repeated: `first`)."""
        return self.first(row) + self.repeats.get(row, 1) - 1

    def range(self, top: int, bottom: int) -> tuple[int, int] | None:
        """A row range after expansion; None when every row of it vanished (a loop over nothing)."""
        first, last = self.first(top), self.last(bottom)
        return (first, last) if first <= last else None


def shift_formula(formula: str, rows: RowMap, own_row: int | None = None, copy: int = 0) -> str:
    """Move a formula's references; in copy `copy` of repeated row `own_row`, relative references to
    that row follow the copy, as when Excel fills a formula down."""
    def move(row: int, absolute: bool, at_end: bool) -> int:
        if row == own_row and not absolute:
            return rows.first(row) + copy
        return rows.last(row) if at_end else rows.first(row)

    def replace(m: re.Match) -> str:
        c1, col1, a1, row1, c2, col2, a2, row2 = m.groups()
        if row2 is None:
            return f"{c1}{col1}{a1}{move(int(row1), bool(a1), False)}"
        if own_row is None and rows.range(int(row1), int(row2)) is None:
            return "0"  # a range over a repeated row with no copies: SUM over nothing is 0
        return (f"{c1}{col1}{a1}{move(int(row1), bool(a1), False)}:"
                f"{c2}{col2}{a2}{move(int(row2), bool(a2), True)}")

    parts = formula.split('"')  # leave string literals alone: odd parts are inside quotes
    return '"'.join(FORMULA_REF.sub(replace, p) if i % 2 == 0 else p for i, p in enumerate(parts))


def shift_ranges(text: str, rows: RowMap, repeated_alone: bool = False) -> str:
    """Move a space-separated list of ranges (sqref) or a defined name's ranges. A range lying
    inside a single repeated row is copied onto every copy when `repeated_alone` (merges)."""
    out = []
    for token in text.split():
        out.extend(_shift_range(token, rows, repeated_alone))
    return " ".join(out)


def shift_cell(ref: str, rows: RowMap) -> str:
    """A single cell (an active cell, a pane's corner) moves with its row and stays one cell."""
    m = RANGE.fullmatch(ref)
    if not m or m[5] is not None:
        return ref
    c1, col1, a1, row1 = m.groups()[:4]
    return f"{c1}{col1}{a1}{rows.first(int(row1))}"


def _shift_range(token: str, rows: RowMap, repeated_alone: bool) -> list[str]:
    prefix, _, ref = token.rpartition("!")
    m = RANGE.fullmatch(ref)
    if not m:
        return [token]
    c1, col1, a1, row1, c2, col2, a2, row2 = m.groups()
    top = int(row1)
    bottom = int(row2) if row2 else top
    sheet = f"{prefix}!" if prefix else ""
    if repeated_alone and top == bottom and top in rows.repeats:
        first = rows.first(top)
        return [_format(sheet, c1, col1, a1, r, c2, col2, a2, r, row2 is not None)
                for r in range(first, first + rows.repeats[top])]
    moved = rows.range(top, bottom)
    if moved is None:
        return []
    if row2 is None:  # a single cell on a repeated row becomes a range over the copies
        c2, col2, a2 = c1, col1, a1
    return [_format(sheet, c1, col1, a1, moved[0], c2, col2, a2, moved[1], moved[0] != moved[1] or row2 is not None)]


def _format(sheet, c1, col1, a1, top, c2, col2, a2, bottom, is_range) -> str:
    start = f"{c1}{col1}{a1}{top}"
    return f"{sheet}{start}:{c2}{col2}{a2}{bottom}" if is_range else f"{sheet}{start}"

