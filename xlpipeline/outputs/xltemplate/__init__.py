"""A small xlsx template renderer: jinja2 in cells, repeated rows, ranges that follow.

Template syntax, all inside cell text:
- `{{ expression }}` alone in a cell keeps the value's type; mixed with text it renders to text.
- `{%row for item in items %}` in any cell of a row repeats that row once per element, with
  `item` and `loop` (index, index0, first, last, length) in scope; `{%merge B=item.block %}` in
  the same cell merges column B over consecutive copies whose key is equal.
- `{%col for x in xs %}` in a cell repeats its column once per element (one such column per
  sheet), with `x` in scope in every cell of the copies; see `columns`.
- Formulas move like rows do in Excel; a range ending on a repeated row stretches over all its
  copies. Merges, data validation, conditional formatting, hyperlinks, row breaks, print area,
  print titles and drawing anchors move too, and charts' data ranges (their caches are filled
  with the rendered values). Row heights follow the text of repeated rows.

Jinja runs in its sandbox; a template error names sheet and cell. Everything in the package that
is not a rendered sheet (styles, images, macros…) is copied byte for byte.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import Path
from typing import BinaryIO

from xlpipeline.ooxml.parts import PKG_REL_NS, full_calc_on_load, q, serialize, sheet_parts
from xlpipeline.ooxml.package import check_sizes, check_workbook_file, parse_xml, read_part
from xlpipeline.outputs.xltemplate.charts import sheet_values, update_chart
from xlpipeline.outputs.xltemplate.columns import ColumnPlan, shift_range_columns
from xlpipeline.outputs.xltemplate.rows import RowMap, shift_ranges
from xlpipeline.ooxml.pages import title_rows
from xlpipeline.outputs.xltemplate.cells import start_render
from xlpipeline.outputs.xltemplate.sheet import SheetRenderer, TemplateProblem, cell_text
from xlpipeline.ooxml.zipwrite import rewrite_package

CHART_PART = re.compile(r"xl/charts/chart\d+\.xml")
DRAWING_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"

__all__ = ["XlsxTemplate", "TemplateProblem"]


class XlsxTemplate:
    """A template workbook read once, rendered any number of times."""

    def __init__(self, path: Path):
        check_workbook_file(path)
        self.path = path
        self.data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(self.data)) as package:
            check_sizes(package, path.name)
            self.sheets = sheet_parts(package)
            self.parts = {name: read_part(package, name) for name in self._xml_parts(package)}
        self.strings = self._shared_strings()

    def _xml_parts(self, package: zipfile.ZipFile) -> list[str]:
        names = set(package.namelist())
        wanted = {"xl/workbook.xml", "xl/sharedStrings.xml", *self.sheets.values()}
        wanted |= {_rels_of(part) for part in self.sheets.values()}
        return [n for n in names if n in wanted or (n.startswith("xl/drawings/") and n.endswith(".xml"))
                or CHART_PART.fullmatch(n)]

    def _shared_strings(self) -> list[str]:
        if "xl/sharedStrings.xml" not in self.parts:
            return []
        sst = parse_xml(self.parts["xl/sharedStrings.xml"], "xl/sharedStrings.xml")
        return ["".join(t.text or "" for t in si.iter(q("t"))) for si in sst.iter(q("si"))]

    def render(self, context: dict, out: BinaryIO) -> None:
        start_render()
        changed: dict[str, bytes] = {}
        book = parse_xml(self.parts["xl/workbook.xml"], "xl/workbook.xml")
        moves, values = {}, {}
        for index, (name, part) in enumerate(self.sheets.items()):
            root = parse_xml(self.parts[part], f"{self.path.name}: {name}")
            if not self._has_template(root):
                continue
            renderer = SheetRenderer(name, self.strings)
            rows = renderer.render(root, context, title_rows(book, index))
            moves[name], values[name] = (rows, renderer.columns), sheet_values(root)
            changed[part] = serialize(root)
            _move_defined_names(book, name, rows, renderer.columns)
            for drawing in self._drawings(part):
                changed[drawing] = _move_anchors(parse_xml(self.parts[drawing], drawing), rows, renderer.columns)
        for chart in (p for p in self.parts if CHART_PART.fullmatch(p)):
            root = parse_xml(self.parts[chart], chart)
            update_chart(root, moves, values)
            changed[chart] = serialize(root)
        full_calc_on_load(book)  # formulas that moved have no cached values
        changed["xl/workbook.xml"] = serialize(book)
        source = io.BytesIO(self.data)
        with zipfile.ZipFile(source) as package:
            rewrite_package(source, package, out, changed)

    def _has_template(self, root) -> bool:
        return any("{{" in (t or "") or "{%" in (t or "") for t in
                   (cell_text(c, self.strings) for c in root.iter(q("c"))))

    def _drawings(self, part: str) -> list[str]:
        rels = self.parts.get(_rels_of(part))
        if rels is None:
            return []
        found = []
        for rel in parse_xml(rels, _rels_of(part)).iter(f"{{{PKG_REL_NS}}}Relationship"):
            if rel.get("Type", "").endswith("/drawing"):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(part), rel.get("Target"))).lstrip("/")
                if target in self.parts:
                    found.append(target)
        return found


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return f"{folder}/_rels/{name}.rels"


def _move_defined_names(book, sheet: str, rows: RowMap, columns: ColumnPlan | None) -> None:
    """Print area, print titles and named ranges of the sheet follow its rows and columns."""
    prefixes = (f"'{sheet}'!", f"{sheet}!")
    for name in book.iter(q("definedName")):
        text = name.text or ""
        if not any(p in text for p in prefixes):
            continue
        areas = []
        for area in text.split(","):
            if area.startswith(prefixes):
                areas.append(shift_ranges(shift_range_columns(area, columns) if columns else area, rows))
            else:
                areas.append(area)
        name.text = ",".join(a for a in areas if a)


def _move_anchors(drawing, rows: RowMap, columns: ColumnPlan | None) -> bytes:
    """Pictures, shapes and charts anchored below repeated rows (or right of a repeated column) move
    with them (anchors count from 0)."""
    for marker in ("from", "to"):
        for anchor in drawing.iter(f"{{{DRAWING_NS}}}{marker}"):
            row, col = anchor.find(f"{{{DRAWING_NS}}}row"), anchor.find(f"{{{DRAWING_NS}}}col")
            if row is not None and row.text is not None:
                row.text = str(rows.first(int(row.text) + 1) - 1)
            if columns is not None and col is not None and col.text is not None:
                col.text = str(columns.first(int(col.text) + 1) - 1)
    return serialize(drawing)

