"""Render one worksheet of a template: repeat rows, fill cells, and move every range that follows."""
from __future__ import annotations

import copy

from lxml import etree

from xlpipeline.errors import UserError
from xlpipeline.ooxml.parts import (column_index, column_widths, fill_implied_refs, insert_in_order, q, set_value,
                                    split_ref)
from xlpipeline.ooxml.pages import keep_on_pages
from xlpipeline.workbook.textfit import row_height
from xlpipeline.outputs.xltemplate.cached import cache_formulas
from xlpipeline.outputs.xltemplate.columns import ColumnPlan, expand_columns, find_directive
from xlpipeline.outputs.xltemplate.cells import Directive, evaluate, has_jinja, render_text, take_directives
from xlpipeline.sandbox import FAILURES, MAX_TEXT
from xlpipeline.outputs.xltemplate.rows import RowMap, shift_cell, shift_formula, shift_ranges

X14_NS = "http://schemas.microsoft.com/office/excel/2006/main"
# CT_Worksheet children that come before <mergeCells>: Excel insists on the schema's order.
BEFORE_MERGE_CELLS = ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
                      "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
                      "dataConsolidate", "customSheetViews")
# Elements whose attribute holds cell ranges that move with the rows.
RANGE_ATTRIBUTES = {"dataValidation": "sqref", "conditionalFormatting": "sqref", "hyperlink": "ref",
                    "autoFilter": "ref", "ignoredError": "sqref", "protectedRange": "sqref", "dimension": "ref",
                    "selection": "sqref"}
# ... and those holding a single cell, which stays a single cell.
CELL_ATTRIBUTES = {"selection": "activeCell", "pane": "topLeftCell"}


class TemplateProblem(UserError):
    """A template that cannot be rendered; the message names sheet and cell."""
    exit_code = 2


def cell_text(cell: etree._Element, strings: list[str]) -> str | None:
    """The text of a string cell (inline or shared), None for other cells."""
    kind = cell.get("t")
    if kind == "s":
        value = cell.find(q("v"))
        return strings[int(value.text)] if value is not None else None
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(q("t")))
    return None


class SheetRenderer:
    def __init__(self, name: str, strings: list[str]):
        self.name, self.strings = name, strings
        self.columns: ColumnPlan | None = None

    def fail(self, ref: str, exc: Exception) -> TemplateProblem:
        return TemplateProblem(f"{self.name}!{ref}: 模板错误：{exc}")

    def render(self, root: etree._Element, context: dict, title_rows: tuple[int, int] | None = None) -> RowMap:
        """Render the sheet; `title_rows`, the print titles (repeated on every printed page)."""
        sheet_data = root.find(q("sheetData"))
        fill_implied_refs(sheet_data)
        self.columns = self._columns(root, context)
        rows = list(sheet_data)
        plans = self._plans(rows, context)
        rowmap = RowMap({r: len(items) for r, (_, items) in plans.items()})
        widths = column_widths(root)
        spans = _row_spans(root)
        merges: list[str] = []
        keep: list[tuple[int, int]] = []
        output = []
        for row in rows:
            r = int(row.get("r"))
            if r not in plans:
                self._place(row, r, rowmap.first(r), context, rowmap)
                output.append(row)
                continue
            directive, items = plans[r]
            copies = []
            for k, value in enumerate(items):
                scope = {**context, directive.target: value,
                         "loop": {"index": k + 1, "index0": k, "first": k == 0, "last": k == len(items) - 1,
                                  "length": len(items)}}
                new = copy.deepcopy(row)
                self._place(new, r, rowmap.first(r) + k, scope, rowmap, copy_index=k)
                if new.get("customHeight") != "1":
                    _fit_height(new, widths, spans.get(r, {}))
                copies.append((new, scope))
            merges += self._directive_merges(directive, copies)
            keep += self._keep_spans(directive, copies)
            output += [new for new, _ in copies]
        sheet_data[:] = output
        cache_formulas(sheet_data)
        _move_ranges(root, rowmap, merges)
        if keep:
            keep_on_pages(root, keep, title_rows)
        return rowmap

    def _columns(self, root, context) -> ColumnPlan | None:
        try:
            return expand_columns(root, lambda cell: cell_text(cell, self.strings), context)
        except FAILURES as exc:
            found = find_directive(root.iter(q("c")), lambda cell: cell_text(cell, self.strings))
            raise self.fail(found[0].get("r") if found else "?", exc) from None

    def _plans(self, rows, context) -> dict[int, tuple[Directive, list]]:
        plans = {}
        for row in rows:
            for cell in row.iter(q("c")):
                text = cell_text(cell, self.strings)
                if not text or "{%" not in text:
                    continue
                directive, _ = take_directives(text)
                if directive is None:
                    continue
                try:
                    plans[int(row.get("r"))] = (directive, list(evaluate(directive.iterable, context)))
                except FAILURES as exc:
                    raise self.fail(cell.get("r"), exc) from None
        return plans

    def _place(self, row, template_row: int, new_row: int, context: dict, rowmap: RowMap,
               copy_index: int | None = None) -> None:
        """Move a row to `new_row`, render its template cells and move its formulas' references."""
        row.set("r", str(new_row))
        own_row = template_row if copy_index is not None else None
        for cell in row.iter(q("c")):
            ref = cell.get("r")
            column = ref.rstrip("0123456789")
            cell.set("r", f"{column}{new_row}")
            scope = self.columns.scope(cell, context) if self.columns else context
            formula = cell.find(q("f"))
            if formula is not None:
                if formula.get("t") == "shared":
                    raise self.fail(ref, "不支持共享公式，请在模板中重新输入该单元格的公式")
                formula.text = shift_formula(formula.text or "", rowmap, own_row, copy_index or 0)
                cached = cell.find(q("v"))
                if cached is not None:
                    cell.remove(cached)  # stale: computed again once every row is in place
                continue
            text = cell_text(cell, self.strings)
            if text is None or not has_jinja(text):
                continue
            _, text = take_directives(text)
            try:
                value = render_text(text, scope)
                if isinstance(value, str) and len(value) > MAX_TEXT:
                    raise ValueError(f"结果有 {len(value)} 个字符，超过 Excel 单元格的上限 {MAX_TEXT}")
                set_value(cell, value)
            except FAILURES as exc:
                raise self.fail(ref, exc) from None

    def _keep_spans(self, directive: Directive, copies) -> list[tuple[int, int]]:
        """Row spans of consecutive copies whose keep key is equal."""
        if directive.keep is None:
            return []
        spans: list[tuple[int, int]] = []
        previous = object()
        for new, scope in copies:
            try:
                key = evaluate(directive.keep, scope)
            except FAILURES as exc:
                raise self.fail(f"A{new.get('r')}", exc) from None
            r = int(new.get("r"))
            if spans and key == previous:
                spans[-1] = (spans[-1][0], r)
            else:
                spans.append((r, r))
            previous = key
        return spans

    def _directive_merges(self, directive: Directive, copies) -> list[str]:
        """Merge each listed column over consecutive copies whose key is equal (and not None)."""
        merges = []
        for column, expression in directive.merges:
            run_start, run_key = 0, None
            keys = []
            for new, scope in copies:
                try:
                    keys.append(evaluate(expression, scope))
                except FAILURES as exc:
                    raise self.fail(f"{column}{new.get('r')}", exc) from None
            for k in range(len(keys) + 1):
                if k < len(keys) and keys[k] is not None and keys[k] == run_key:
                    continue
                if k - run_start > 1 and run_key is not None:
                    top, bottom = copies[run_start][0], copies[k - 1][0]
                    merges.append(f"{column}{top.get('r')}:{column}{bottom.get('r')}")
                    for new, _ in copies[run_start + 1:k]:
                        for cell in new.iter(q("c")):
                            if cell.get("r").rstrip("0123456789") == column:
                                set_value(cell, None)  # only the merged area's top-left cell shows
                if k < len(keys):
                    run_start, run_key = k, keys[k]
        return merges


def _move_ranges(root: etree._Element, rowmap: RowMap, directive_merges: list[str]) -> None:
    merge_cells = root.find(q("mergeCells"))
    refs = []
    if merge_cells is not None:
        refs = shift_ranges(" ".join(m.get("ref") for m in merge_cells), rowmap, repeated_alone=True).split()
    refs += directive_merges
    if refs:
        if merge_cells is None:
            merge_cells = etree.Element(q("mergeCells"))
            insert_in_order(root, merge_cells, BEFORE_MERGE_CELLS)
        for old in list(merge_cells):
            merge_cells.remove(old)
        for ref in refs:
            etree.SubElement(merge_cells, q("mergeCell"), ref=ref)
        merge_cells.set("count", str(len(refs)))
    elif merge_cells is not None:
        root.remove(merge_cells)
    sheet_data = root.find(q("sheetData"))
    for element in (e for child in root if child is not sheet_data for e in child.iter()):
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        ranges, cell = RANGE_ATTRIBUTES.get(local), CELL_ATTRIBUTES.get(local)
        if ranges and element.get(ranges):
            element.set(ranges, shift_ranges(element.get(ranges), rowmap) or "A1")
        if cell and element.get(cell):
            element.set(cell, shift_cell(element.get(cell), rowmap))
        if local == "sqref" and element.text:  # x14 extensions keep their ranges in text
            element.text = shift_ranges(element.text, rowmap)
        elif local == "brk" and element.getparent() is not None and \
                etree.QName(element.getparent()).localname == "rowBreaks":
            element.set("id", str(rowmap.last(int(element.get("id")))))


def _row_spans(root: etree._Element) -> dict[int, dict[int, int]]:
    """The template's merges within one row: row → first column → last column."""
    spans: dict[int, dict[int, int]] = {}
    merge_cells = root.find(q("mergeCells"))
    for merge in merge_cells if merge_cells is not None else ():
        first, _, last = merge.get("ref", "").partition(":")
        (r1, c1), (r2, c2) = split_ref(first), split_ref(last or first)
        if r1 == r2:
            spans.setdefault(r1, {})[c1] = c2
    return spans


def _fit_height(row: etree._Element, widths: dict[int, float], spans: dict[int, int]) -> None:
    """A repeated row without a fixed height gets one that fits its text; a cell merged across
    columns wraps in their width together (a sentence over B:K is one line, not twenty)."""
    def width(column: int) -> float:
        return sum(widths.get(c, 9.0) for c in range(column, spans.get(column, column) + 1))
    texts = [("".join(t.text or "" for t in cell.iter(q("t"))), width(column_index(cell.get("r").rstrip("0123456789"))))
             for cell in row.iter(q("c")) if cell.get("t") == "inlineStr"]
    row.set("ht", str(row_height(texts)))
    row.set("customHeight", "1")
