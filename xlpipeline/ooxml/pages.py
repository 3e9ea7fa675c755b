"""Printed pages of a worksheet part: where they break, so that groups of rows (a block of the
form, with its merged 分值 and 得分) are never cut by a page boundary.

Page sizes follow the sheet's own setup as Excel and LibreOffice apply it: the paper (A4 unless
Letter), its orientation, the margins, and the fit-to-width scale that our sheets use (the sheet's
width from its column widths). The estimate errs towards breaking early.
"""
from __future__ import annotations

import copy
import re

from lxml import etree

from xlpipeline.ooxml.parts import attr_number, column_widths, insert_in_order, q

MAX_HEIGHT = 10_000  # points: a row height beyond it is damage (Excel shows rows up to 409 points)
PAPER = {1: (612.0, 792.0), 9: (595.3, 841.9)}  # Letter, A4: portrait width and height in points
SAFETY = 0.96  # of a page's height: rounding in the applications' own row and scale arithmetic
# CT_Worksheet children that come before <rowBreaks>
BEFORE_ROW_BREAKS = ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
                     "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate",
                     "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting", "dataValidations",
                     "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter")


def page_height(root: etree._Element) -> float:
    """How many points of rows fit on one printed page, in the sheet's own (unscaled) points."""
    setup, margins = root.find(q("pageSetup")), root.find(q("pageMargins"))
    width, height = PAPER.get(int(attr_number(setup, "paperSize", 9, 0, 1000)), PAPER[9])
    if setup is not None and setup.get("orientation") == "landscape":
        width, height = height, width
    inch = lambda name, default: 72 * attr_number(margins, name, default, 0, 50)  # noqa: E731
    printable_width = width - inch("left", 0.7) - inch("right", 0.7)
    printable_height = height - inch("top", 0.75) - inch("bottom", 0.75)
    scale = 1.0
    fit = root.find(f"{q('sheetPr')}/{q('pageSetUpPr')}")
    if fit is not None and fit.get("fitToPage") in ("1", "true") and setup is not None \
            and setup.get("fitToWidth", "1") == "1":
        scale = min(1.0, printable_width / _sheet_width(root))
    return printable_height * SAFETY / scale


def _sheet_width(root: etree._Element) -> float:
    """Points: a column of width w characters is 7w + 5 pixels, a pixel ¾ of a point."""
    return sum(7 * w + 5 for w in column_widths(root).values()) * 0.75 or 1.0


def default_row_height(root: etree._Element) -> float:
    return attr_number(root.find(q("sheetFormatPr")), "defaultRowHeight", 15.0, 0, MAX_HEIGHT)


def row_height(row: etree._Element, default: float) -> float:
    return attr_number(row, "ht", default, 0, MAX_HEIGHT)


def row_heights(root: etree._Element) -> dict[int, float]:
    default = default_row_height(root)
    return {int(row.get("r")): row_height(row, default) for row in root.iterfind(f"{q('sheetData')}/{q('row')}")}


def page_breaks(heights: dict[int, float], last_row: int, keep: list[tuple[int, int]], capacity: float,
                repeated: float, fill: bool = False) -> list[int]:
    """The rows after which pages break: rows 1…last_row in order, each span in `keep` on one page
    where it fits on any (otherwise it breaks between its rows); with `fill`, a span is kept whole only
    where it fits on what is left of the current page, so that pages are filled (a form that repeats
    the span's labels after a break). `repeated` is the height of the title rows printed again at the
    top of every page after the first."""
    spans = {first: last for first, last in keep}
    height = lambda r: heights.get(r, 15.0)  # noqa: E731
    breaks, used, start, row = [], 0.0, 0.0, 1  # start: what a page holds before its first row
    while row <= last_row:
        rows = range(row, spans.get(row, row) + 1)
        whole = sum(map(height, rows))
        room = capacity - used if fill else capacity - repeated
        for part in ([rows] if whole <= room else [[r] for r in rows]):
            size = sum(map(height, part))
            if used + size > capacity and used > start:
                breaks.append(part[0] - 1)
                used = start = repeated
            used += size
        row = rows[-1] + 1
    return breaks


def set_row_breaks(root: etree._Element, breaks: list[int]) -> None:
    """Our manual page breaks, replacing any the sheet had."""
    old = root.find(q("rowBreaks"))
    if old is not None:
        root.remove(old)
    if not breaks:
        return
    element = etree.Element(q("rowBreaks"), count=str(len(breaks)), manualBreakCount=str(len(breaks)))
    for row in breaks:
        etree.SubElement(element, q("brk"), id=str(row), max="16383", man="1")
    insert_in_order(root, element, BEFORE_ROW_BREAKS)


def title_rows(book: etree._Element, index: int) -> tuple[int, int] | None:
    """The rows the sheet at `index` prints at the top of every page (its _xlnm.Print_Titles)."""
    for name in book.iter(q("definedName")):
        if name.get("name") == "_xlnm.Print_Titles" and name.get("localSheetId") == str(index):
            match = re.search(r"\$(\d+):\$(\d+)", name.text or "")
            if match:
                return int(match[1]), int(match[2])
    return None


def keep_on_pages(root: etree._Element, keep: list[tuple[int, int]], titles: tuple[int, int] | None,
                  repeat_labels: bool = True) -> None:
    """Break the sheet's printed pages between the spans in `keep`, never inside one that fits. With
    `repeat_labels` (a filled form; not a working sheet, whose merged cells hold live formulas), pages
    are filled: a span breaks between its rows where it does not fit on what is left of a page, and a
    merged cell a break cuts is split in two, its text shown again on the next page."""
    heights = row_heights(root)
    if not heights:
        return
    repeated = sum(heights.get(r, 15.0) for r in range(titles[0], titles[1] + 1)) if titles else 0.0
    breaks = page_breaks(heights, max(heights), keep, page_height(root), repeated, fill=repeat_labels)
    set_row_breaks(root, breaks)
    if repeat_labels:
        _split_merges(root, breaks)


def _split_merges(root: etree._Element, breaks: list[int]) -> None:
    merges = root.find(q("mergeCells"))
    if merges is None or not breaks:
        return
    cells = {c.get("r"): c for c in root.iter(q("c"))}
    for merge in list(merges):
        (left, top), (right, bottom) = (_column_row(r) for r in merge.get("ref").split(":"))
        cuts = [b for b in breaks if top <= b < bottom]
        if not cuts:
            continue
        anchor = cells.get(f"{left}{top}")
        for first, last in zip([top] + [b + 1 for b in cuts], cuts + [bottom]):
            if last > first:
                merge.addprevious(etree.Element(q("mergeCell"), ref=f"{left}{first}:{right}{last}"))
            if first != top and anchor is not None and f"{left}{first}" in cells:
                _copy_value(anchor, cells[f"{left}{first}"])
        merges.remove(merge)
    merges.set("count", str(len(merges)))


def _copy_value(source: etree._Element, target: etree._Element) -> None:
    """The shown value of `source` (not a formula) into `target`, which keeps its style."""
    for child in list(target):
        if etree.QName(child).localname in ("f", "v", "is"):
            target.remove(child)
    target.attrib.pop("t", None)
    if source.get("t") is not None:
        target.set("t", source.get("t"))
    for child in source:
        if etree.QName(child).localname in ("v", "is"):
            target.insert(0, copy.deepcopy(child))


def _column_row(ref: str) -> tuple[str, int]:
    letters = ref.rstrip("0123456789")
    return letters, int(ref[len(letters):])
