"""Patch cell values inside an .xlsx/.xlsm package without loading it as a workbook.

Only the worksheet parts with edits and `xl/workbook.xml` (to ask for a full recalculation on
load) are rewritten; every other part is copied unchanged, compressed bytes and all. A patched
cell keeps its style; text is written as an inline string, so nothing we write can become a formula.
"""
from __future__ import annotations

import zipfile
from typing import BinaryIO

from lxml import etree

from xlpipeline.errors import FileProblem
from xlpipeline.ooxml.parts import (CellValue, DamagedPart, Formula, column_letters, fill_implied_refs,
                                   find_sheets, full_calc_on_load, q, same_formula, serialize, set_formula, set_value,
                                   sheet_parts, split_ref)
from xlpipeline.ooxml.package import check_sizes, parse_xml, read_part
from xlpipeline.ooxml.pages import default_row_height, keep_on_pages, row_height, title_rows
from xlpipeline.ooxml.zipwrite import rewrite_package

Edits = dict[str, dict[str, CellValue | Formula]]  # sheet name → cell reference → value
Heights = dict[str, dict[int, float]]      # sheet name → row number → the least height it needs (points)
Pages = dict[str, list[tuple[int, int]]]   # sheet name → row spans to print each on one page


class PatchError(FileProblem):
    """The package cannot be patched as asked (formula cell, merged cell, unknown sheet…)."""


def patch_package(source: BinaryIO, out: BinaryIO, edits: Edits, heights: Heights | None = None,
                  pages: Pages | None = None) -> None:
    """Copy the package from `source` to `out`, with the edited cells changed, rows made at least as
    tall as `heights` asks (never lower: a row the user made taller stays so), and the sheets in
    `pages` paginated so that each of their row spans prints on one page where it fits."""
    heights, pages = heights or {}, pages or {}
    with zipfile.ZipFile(source) as zin:
        check_sizes(zin, "工作簿")
        parts = sheet_parts(zin)
        book = parse_xml(read_part(zin, "xl/workbook.xml"), "xl/workbook.xml")
        wanted = edits.keys() | heights.keys() | pages.keys()
        actual = find_sheets(wanted, parts)
        patched: dict[str, bytes] = {}
        for sheet in wanted:
            if sheet not in actual:
                raise PatchError(f"工作簿中没有工作表“{sheet}”")
            name = actual[sheet]
            try:
                root = _patch_sheet(zin, name, parts[name], edits.get(sheet, {}), heights.get(sheet, {}))
                if sheet in pages:
                    keep_on_pages(root, pages[sheet], title_rows(book, list(parts).index(name)), repeat_labels=False)
            except DamagedPart as exc:
                raise PatchError(f"{name}（{parts[name]}）: 工作表结构异常（{exc}）") from None
            patched[parts[name]] = serialize(root)
        full_calc_on_load(book)
        patched["xl/workbook.xml"] = serialize(book)
        rewrite_package(source, zin, out, patched)


def _merged_ranges(root: etree._Element) -> list[tuple[int, int, int, int]]:
    ranges = []
    for merge in root.iter(q("mergeCell")):
        first, _, last = merge.get("ref", "").partition(":")
        (r1, c1), (r2, c2) = split_ref(first), split_ref(last or first)
        ranges.append((r1, c1, r2, c2))
    return ranges


def read_sheet(zin: zipfile.ZipFile, sheet: str, part: str) -> tuple[etree._Element, etree._Element]:
    """A worksheet part parsed, and its sheetData with every row and cell reference filled in."""
    where = f"{sheet}（{part}）"
    root = parse_xml(read_part(zin, part), where)
    sheet_data = root.find(q("sheetData"))
    if sheet_data is None:
        raise PatchError(f"{where}: 工作表结构异常（没有 sheetData）")
    try:
        fill_implied_refs(sheet_data)
    except ValueError:  # a row or cell reference no application writes
        raise PatchError(f"{where}: 工作表结构异常（单元格或行的位置无效）") from None
    return root, sheet_data


def _patch_sheet(zin: zipfile.ZipFile, sheet: str, part: str, cells: dict[str, CellValue],
                 heights: dict[int, float]) -> etree._Element:
    root, sheet_data = read_sheet(zin, sheet, part)
    merges = _merged_ranges(root)
    rows = {int(row.get("r")): row for row in sheet_data.iter(q("row"))}
    for ref, value in cells.items():
        r, c = split_ref(ref)
        for r1, c1, r2, c2 in merges:
            if r1 <= r <= r2 and c1 <= c <= c2 and (r, c) != (r1, c1):
                raise PatchError(f"{sheet}!{ref}: 位于合并单元格内，只能写入合并区域左上角的单元格")
        row = rows.get(r)
        if row is None:
            row = rows[r] = _insert_row(sheet_data, r)
        cell = _find_or_insert_cell(row, ref, c)
        if isinstance(value, Formula):
            _check_own_formula(cell, value, f"{sheet}!{ref}")
            set_formula(cell, value)
        elif cell.find(q("f")) is not None:
            raise PatchError(f"{sheet}!{ref}: 是公式单元格，程序不会覆盖公式；请清除该单元格的公式")
        else:
            set_value(cell, value)
        _grow_dimension(root, r, c)
    _grow_rows(root, sheet_data, rows, heights)
    return root


def _check_own_formula(cell: etree._Element, formula: Formula, where: str) -> None:
    """Only our own formula gets a new cached value; another formula is replaced only when asked."""
    f = cell.find(q("f"))
    if f is None or formula.replace or same_formula(f.text or "", formula.text):
        return
    raise PatchError(f"{where}: 公式已被改动，程序不会覆盖；要恢复程序的公式请加 --restore-formulas")


def read_formulas(source: BinaryIO, sheets: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The formula cells of those of the named sheets that exist: reference → formula text ("" for a
    cell that shares another cell's formula)."""
    with zipfile.ZipFile(source) as zin:
        check_sizes(zin, "工作簿")
        parts = sheet_parts(zin)
        found = {}
        for sheet, name in find_sheets(sheets, parts).items():
            _, sheet_data = read_sheet(zin, name, parts[name])
            found[sheet] = {f.getparent().get("r"): f.text or "" for f in sheet_data.iter(q("f"))}
        return found


def _grow_rows(root, sheet_data, rows: dict, heights: dict[int, float]) -> None:
    """Make rows at least as tall as asked; a taller row stays as it is."""
    default = default_row_height(root)
    for r, needed in heights.items():
        row = rows.get(r)
        if row is None:
            row = rows[r] = _insert_row(sheet_data, r)
        if needed > row_height(row, default):
            row.set("ht", f"{needed:g}")
            row.set("customHeight", "1")


def _grow_dimension(root: etree._Element, r: int, c: int) -> None:
    dimension = root.find(q("dimension"))
    if dimension is None:
        return
    first, _, last = dimension.get("ref", "A1").partition(":")
    (r1, c1), (r2, c2) = split_ref(first), split_ref(last or first)
    if r > r2 or c > c2 or r < r1 or c < c1:
        top, bottom = f"{column_letters(min(c1, c))}{min(r1, r)}", f"{column_letters(max(c2, c))}{max(r2, r)}"
        dimension.set("ref", f"{top}:{bottom}")


def _insert_row(sheet_data: etree._Element, r: int) -> etree._Element:
    row = etree.Element(q("row"), r=str(r))
    for existing in sheet_data:
        if int(existing.get("r", 0)) > r:
            existing.addprevious(row)
            return row
    sheet_data.append(row)
    return row


def _find_or_insert_cell(row: etree._Element, ref: str, c: int) -> etree._Element:
    row.attrib.pop("spans", None)  # an optional hint; dropping it is always valid
    for cell in row.iter(q("c")):
        existing = cell.get("r")
        if existing == ref:
            return cell
        if existing and split_ref(existing)[1] > c:
            new = etree.Element(q("c"), r=ref)
            cell.addprevious(new)
            return new
    return etree.SubElement(row, q("c"), r=ref)


