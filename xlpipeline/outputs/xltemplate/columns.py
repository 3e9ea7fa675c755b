"""Repeated columns: `{%col for x in xs %}` in a cell repeats that cell's column once per element.

Every cell of the column is copied (each copy renders with `x` bound to its element), the columns
to its right move over, and what refers to columns follows as it does for rows: a reference to the
repeated column points at its first copy, a range ending on it stretches over all copies (a title
merged across the table widens with it). One repeated column per sheet; it runs before the rows
are repeated, so a cell may sit in a repeated row and a repeated column at once.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from lxml import etree

from xlpipeline.ooxml.parts import column_index, column_letters, q, set_value
from xlpipeline.outputs.xltemplate.cells import evaluate
from xlpipeline.outputs.xltemplate.rows import FORMULA_REF, RANGE

COL_DIRECTIVE = re.compile(r"\{%\s*col\s+for\s+(?P<target>[A-Za-z_]\w*)\s+in\s+(?P<expr>.+?)\s*%\}", re.S)
MARK = "{urn:xlpipeline:template}col"  # on a copied cell until it is rendered: which element it shows
RANGE_ATTRIBUTES = {"dataValidation": "sqref", "conditionalFormatting": "sqref", "hyperlink": "ref",
                    "autoFilter": "ref", "ignoredError": "sqref", "protectedRange": "sqref", "dimension": "ref",
                    "selection": "sqref", "mergeCell": "ref"}


@dataclass(frozen=True)
class ColumnPlan:
    column: int      # the repeated template column (1 = A)
    target: str
    items: tuple

    def first(self, column: int) -> int:
        return column if column <= self.column else column + len(self.items) - 1

    def last(self, column: int) -> int:
        return column + len(self.items) - 1 if column >= self.column else column

    def scope(self, cell: etree._Element, context: dict) -> dict:
        """The context of a cell: with the loop variable bound where it is a copy of the repeated column."""
        mark = cell.attrib.pop(MARK, None)
        return context if mark is None else {**context, self.target: self.items[int(mark)]}


def find_directive(cells, text_of) -> tuple[etree._Element, re.Match] | None:
    for cell in cells:
        text = text_of(cell)
        match = COL_DIRECTIVE.search(text) if text and "{%" in text else None
        if match:
            return cell, match
    return None


def expand_columns(root: etree._Element, text_of, context: dict) -> ColumnPlan | None:
    """Repeat the column that carries a `{%col … %}` directive; None when the sheet has none.
    Raises jinja's errors for the directive's expression (the caller names the cell)."""
    sheet_data = root.find(q("sheetData"))
    found = find_directive(sheet_data.iter(q("c")), text_of)
    if found is None:
        return None
    cell, match = found
    plan = ColumnPlan(column_index(cell.get("r").rstrip("0123456789")), match["target"],
                      tuple(evaluate(match["expr"], context)))
    set_value(cell, COL_DIRECTIVE.sub("", text_of(cell), count=1))
    for row in sheet_data.iter(q("row")):
        row.attrib.pop("spans", None)
        cells, others = [], [e for e in row if e.tag != q("c")]  # a row's extLst stays after its cells
        for c in row.iter(q("c")):
            letters = c.get("r").rstrip("0123456789")
            r, index = c.get("r")[len(letters):], column_index(letters)
            copies = [(c, None)] if index != plan.column else \
                [(copy.deepcopy(c), k) for k in range(len(plan.items))]
            for cell_copy, at in copies:
                column = plan.first(index) if at is None else plan.column + at
                cell_copy.set("r", f"{column_letters(column)}{r}")
                if at is not None:
                    cell_copy.set(MARK, str(at))
                formula = cell_copy.find(q("f"))
                if formula is not None:
                    formula.text = shift_formula_columns(formula.text or "", plan, at)
                cells.append(cell_copy)
        row[:] = cells + others
    _expand_cols(root, plan)
    for element in root.iter():
        if not isinstance(element.tag, str) or element is sheet_data:
            continue
        attribute = RANGE_ATTRIBUTES.get(etree.QName(element).localname)
        if attribute and element.get(attribute) and element.getparent() is not None \
                and not _inside(element, sheet_data):
            element.set(attribute, shift_range_columns(element.get(attribute), plan))
    return plan


def _inside(element: etree._Element, ancestor: etree._Element) -> bool:
    return any(parent is ancestor for parent in element.iterancestors())


def _expand_cols(root: etree._Element, plan: ColumnPlan) -> None:
    """<col> runs: the repeated column's width and style for each copy, the other columns moved over."""
    cols = root.find(q("cols"))
    if cols is None:
        return
    entries = []
    for col in cols:
        first, last = int(col.get("min", "1")), int(col.get("max", "1"))
        runs = [(first, last)] if not first <= plan.column <= last else \
            [(first, plan.column - 1), *[(plan.column, plan.column)] * len(plan.items), (plan.column + 1, last)]
        for k, (low, high) in enumerate(runs):
            if low > high:
                continue
            entry = copy.deepcopy(col)
            if low == high == plan.column and len(runs) > 2:
                low = high = plan.column + k - 1  # the k-th copy (runs[0] is the part before it)
            else:
                low, high = plan.first(low), min(16384, plan.first(high))
            entry.set("min", str(low))
            entry.set("max", str(high))
            entries.append(entry)
    entries.sort(key=lambda e: int(e.get("min")))
    cols[:] = entries
    if not entries:
        root.remove(cols)


def _column_edges(plan: ColumnPlan, col1: str, col2: str | None) -> tuple[str, str | None]:
    if col2 is None:
        return column_letters(plan.first(column_index(col1))), None
    return column_letters(plan.first(column_index(col1))), column_letters(plan.last(column_index(col2)))


def shift_range_columns(text: str, plan: ColumnPlan) -> str:
    """A space-separated list of ranges (or one cell) with its columns moved."""
    out = []
    for token in text.split():
        prefix, _, ref = token.rpartition("!")
        m = RANGE.fullmatch(ref)
        if not m or not m[2]:
            out.append(token)
            continue
        c1, col1, a1, row1, c2, col2, a2, row2 = m.groups()
        first, last = _column_edges(plan, col1, col2 or None)
        if last is None and column_index(col1) == plan.column and len(plan.items) > 1:
            last, c2, a2, row2 = column_letters(plan.last(plan.column)), c1, a1, row1  # a cell becomes the copies
        moved = f"{c1}{first}{a1}{row1}" + (f":{c2}{last}{a2}{row2}" if last else "")
        out.append(f"{prefix}!{moved}" if prefix else moved)
    return " ".join(out)


def shift_formula_columns(formula: str, plan: ColumnPlan, copy_index: int | None = None) -> str:
    """A formula's references with their columns moved; in copy k of the repeated column, relative
    references to that column follow the copy (as when Excel fills a formula right)."""
    def move(col: str, absolute: bool, at_end: bool) -> str:
        index = column_index(col)
        if copy_index is not None and index == plan.column and not absolute:
            return column_letters(plan.column + copy_index)
        return column_letters(plan.last(index) if at_end else plan.first(index))

    def replace(m: re.Match) -> str:
        c1, col1, a1, row1, c2, col2, a2, row2 = m.groups()
        if row2 is not None and not plan.items and column_index(col1) == column_index(col2) == plan.column:
            return "0"  # a range over the repeated column with no copies: SUM over nothing is 0
        start = f"{c1}{move(col1, bool(c1), False)}{a1}{row1}"
        if row2 is None:
            return start
        return f"{start}:{c2}{move(col2, bool(c2), True)}{a2}{row2}"

    parts = formula.split('"')
    return '"'.join(FORMULA_REF.sub(replace, p) if i % 2 == 0 else p for i, p in enumerate(parts))
