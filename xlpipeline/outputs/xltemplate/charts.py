"""Charts of a rendered template: their data ranges follow the repeated rows and columns of the
sheets they read, and their caches hold the rendered values, so that a preview that does not
calculate (and Excel before it recalculates) draws the real figures."""
from __future__ import annotations

import re

from lxml import etree

from xlpipeline.ooxml.parts import column_index, column_letters, q
from xlpipeline.outputs.xltemplate.columns import ColumnPlan, shift_range_columns
from xlpipeline.outputs.xltemplate.rows import RowMap, shift_ranges

CHART_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
AREA = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!(.+)$")
CELL = re.compile(r"\$?([A-Z]{1,3})\$?(\d+)")


def c(tag: str) -> str:
    return f"{{{CHART_NS}}}{tag}"


def sheet_values(root: etree._Element) -> dict[str, object]:
    """A rendered sheet's cells: reference → number (as its text) or string."""
    values = {}
    for cell in root.find(q("sheetData")).iter(q("c")):
        if cell.get("t") == "inlineStr":
            values[cell.get("r")] = "".join(t.text or "" for t in cell.iter(q("t")))
        else:
            v = cell.find(q("v"))
            if v is not None and v.text is not None and cell.get("t") in (None, "n", "str"):
                values[cell.get("r")] = v.text
    return values


def update_chart(chart: etree._Element, moves: dict[str, tuple[RowMap, ColumnPlan | None]],
                 values: dict[str, dict[str, object]]) -> None:
    """Move each series reference on a rendered sheet and rebuild its cache from that sheet's cells."""
    for formula in chart.iter(c("f")):
        match = AREA.match((formula.text or "").strip())
        if not match:
            continue
        sheet = (match[1] or "").replace("''", "'") or match[2]
        if sheet not in moves:
            continue
        rows, columns = moves[sheet]
        area = match[3]
        if columns is not None:
            area = shift_range_columns(area, columns)
        area = shift_ranges(area, rows) or _first_cells(area, rows)
        prefix = (formula.text or "").strip()[: -len(match[3])]
        formula.text = prefix + area
        _fill_cache(formula.getparent(), [values[sheet].get(ref) for ref in _cells(area)])


def _first_cells(area: str, rows: RowMap) -> str:
    """Where a range over a repeated row with no copies points: its first column's cell where the
    row would have been (a chart over no units draws nothing, but its reference stays valid)."""
    column, row = CELL.findall(area)[0]
    return f"${column}${rows.first(int(row))}"


def _cells(area: str) -> list[str]:
    ends = CELL.findall(area)
    if not ends:
        return []
    (col1, row1), (col2, row2) = ends[0], ends[-1]
    return [f"{column_letters(col)}{row}" for row in range(int(row1), int(row2) + 1)
            for col in range(column_index(col1), column_index(col2) + 1)]


def _fill_cache(reference: etree._Element, points: list) -> None:
    numeric = etree.QName(reference).localname == "numRef"
    if numeric and any(p is not None and not _is_number(p) for p in points) and \
            etree.QName(reference.getparent()).localname == "cat":
        reference.tag, numeric = c("strRef"), False  # categories that are text (unit names) are a string reference
    for old in reference.findall(c("numCache")) + reference.findall(c("strCache")):
        reference.remove(old)
    cache = etree.Element(c("numCache" if numeric else "strCache"))
    reference.find(c("f")).addnext(cache)  # before any extLst, as the schema orders them
    if numeric:
        etree.SubElement(cache, c("formatCode")).text = "General"
    etree.SubElement(cache, c("ptCount"), val=str(len(points)))
    for index, value in enumerate(points):
        if value is None or (numeric and not _is_number(value)):
            continue
        point = etree.SubElement(cache, c("pt"), idx=str(index))
        etree.SubElement(point, c("v")).text = str(value)


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
