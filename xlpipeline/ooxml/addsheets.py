"""Add our sheets to a workbook the user already has, without loading and re-saving it. Sheets of
those names that the workbook already has are left exactly as they are.

The sheets are built with openpyxl in a workbook of their own (the donor), then moved into the
user's package: their cell and conditional-format styles are appended to the user's styles.xml
(indexes shifted), shared strings become inline strings, and workbook.xml, its relationships and [Content_Types].xml gain
entries. Every other part of the user's file is copied byte for byte.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from itertools import chain, count
from typing import BinaryIO

from lxml import etree

from xlpipeline.errors import FileProblem
from xlpipeline.ooxml.package import CT_NS, check_sizes, parse_xml, read_part
from xlpipeline.ooxml.parts import (MAIN_NS, PKG_REL_NS, REL_NS, attr_int, free_part_name, free_rel_id,
                                   insert_in_order, q, serialize, sheet_parts, workbook_part)
from xlpipeline.ooxml.zipwrite import rewrite_package

WORKSHEET_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
# the stylesheet a workbook without one implies: one font, the two required fills, one border, Normal
DEFAULT_STYLES = f"""<styleSheet xmlns="{MAIN_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font>
</fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>
</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1">
<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>""".replace("\n", "")
# CT_Stylesheet and CT_Workbook child order, for inserting an element the user's file lacks.
STYLE_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
               "tableStyles", "colors", "extLst")
BEFORE_DEFINED_NAMES = ("fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews", "sheets",
                        "functionGroups", "externalReferences")


class _Donor:
    """Our freshly built workbook, opened for taking its sheets apart."""

    def __init__(self, data: bytes):
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.parts = sheet_parts(self.zip)
        self.styles = parse_xml(self.zip.read("xl/styles.xml"), "xl/styles.xml")
        self.strings = []
        if "xl/sharedStrings.xml" in self.zip.namelist():
            sst = parse_xml(self.zip.read("xl/sharedStrings.xml"), "xl/sharedStrings.xml")
            self.strings = list(sst.iter(q("si")))
        book = parse_xml(self.zip.read("xl/workbook.xml"), "xl/workbook.xml")
        self.defined_names = list(book.iter(q("definedName")))

    def keep(self, names: list[str]) -> None:
        """Take only these sheets; names local to a sheet follow it to its new place."""
        order = list(self.parts)
        self.parts = {name: self.parts[name] for name in names}
        kept = []
        for defined in self.defined_names:
            local = defined.get("localSheetId")
            if local is None:
                kept.append(defined)
            elif order[int(local)] in self.parts:
                defined.set("localSheetId", str(names.index(order[int(local)])))
                kept.append(defined)
        self.defined_names = kept


def missing_sheets(source: BinaryIO, donor_bytes: bytes) -> list[str]:
    """The donor's sheets that the workbook `source` does not have yet (names compared as Excel
    does, ignoring case)."""
    with zipfile.ZipFile(source) as zin:
        check_sizes(zin, "工作簿")
        existing = {name.casefold() for name in sheet_parts(zin)}
    return [name for name in _Donor(donor_bytes).parts if name.casefold() not in existing]


def add_sheets(source: BinaryIO, out: BinaryIO, donor_bytes: bytes) -> None:
    """Copy the package `source` to `out` with each sheet of the donor workbook that it lacks appended."""
    donor = _Donor(donor_bytes)
    with zipfile.ZipFile(source) as zin:
        check_sizes(zin, "工作簿")
        existing = sheet_parts(zin)
        have = {name.casefold() for name in existing}
        donor.keep([name for name in donor.parts if name.casefold() not in have])
        if not donor.parts:
            raise FileProblem("工作簿中已有全部工作表，无需添加")
        book = parse_xml(read_part(zin, "xl/workbook.xml"), "xl/workbook.xml")
        rels = parse_xml(read_part(zin, "xl/_rels/workbook.xml.rels"), "xl/_rels/workbook.xml.rels")
        types = parse_xml(read_part(zin, "[Content_Types].xml"), "[Content_Types].xml")
        taken = {name.lower() for name in zin.namelist()}
        styles_part, styles = _styles(zin, rels, types, taken)
        offsets = _merge_styles(styles, donor.styles)
        new_parts = _add_sheet_entries(book, rels, types, donor, taken, existing)
        changed = {"xl/workbook.xml": serialize(book), "xl/_rels/workbook.xml.rels": serialize(rels),
                   "[Content_Types].xml": serialize(types), styles_part: serialize(styles)}
        added = {part: _restyle_sheet(donor, donor_part, offsets) for part, donor_part in new_parts.items()}
        if styles_part not in zin.namelist():
            added[styles_part] = changed.pop(styles_part)
        rewrite_package(source, zin, out, changed, added)


def _styles(zin: zipfile.ZipFile, rels, types, taken: set[str]) -> tuple[str, etree._Element]:
    """The user's styles part, parsed; a workbook without one (the standard allows it) gets one with
    only the default cell format, which is what its cells have had."""
    part = workbook_part(rels, "styles")
    if part is not None:
        return part, parse_xml(read_part(zin, part), part)
    part = free_part_name(taken, chain(["xl/styles.xml"], (f"xl/styles{n}.xml" for n in count(2))))
    etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id=free_rel_id(rels), Type=STYLES_TYPE,
                     Target=part.removeprefix("xl/"))
    etree.SubElement(types, f"{{{CT_NS}}}Override", PartName=f"/{part}", ContentType=STYLES_CT)
    return part, etree.fromstring(DEFAULT_STYLES)


def _child(root: etree._Element, tag: str) -> etree._Element:
    """root's <tag>, created in schema order when the file has none."""
    found = root.find(q(tag))
    if found is None:
        found = etree.Element(q(tag), count="0")
        insert_in_order(root, found, STYLE_ORDER[:STYLE_ORDER.index(tag)])
    return found


@dataclass(frozen=True)
class _Offsets:
    """What to add to a donor sheet's style indexes once its styles sit after the user's."""
    cell: int          # <c s>, <row s>, <col style>: into cellXfs
    differential: int  # <cfRule dxfId>: into dxfs (conditional formatting)


def _merge_styles(target: etree._Element, donor: etree._Element) -> _Offsets:
    """Append the donor's fonts, fills, borders, number formats, cell formats and differential
    formats to the target's."""
    offsets = {}
    for tag, child in (("fonts", "font"), ("fills", "fill"), ("borders", "border")):
        into = _child(target, tag)
        offsets[tag] = len(into.findall(q(child)))
        for element in donor.find(q(tag)).findall(q(child)):
            into.append(element)
        into.set("count", str(len(into.findall(q(child)))))
    format_ids = {}
    donor_formats = donor.find(q("numFmts"))
    if donor_formats is not None and len(donor_formats):
        formats = _child(target, "numFmts")
        next_id = max([163] + [attr_int(f, "numFmtId") for f in formats.findall(q("numFmt"))]) + 1
        for fmt in donor_formats.findall(q("numFmt")):
            format_ids[fmt.get("numFmtId")] = str(next_id)  # custom formats are numbered from 164
            fmt.set("numFmtId", str(next_id))
            formats.append(fmt)
            next_id += 1
        formats.set("count", str(len(formats.findall(q("numFmt")))))
    cell_formats = _child(target, "cellXfs")
    offset = len(cell_formats.findall(q("xf")))
    for xf in donor.find(q("cellXfs")).findall(q("xf")):
        xf.set("fontId", str(int(xf.get("fontId", 0)) + offsets["fonts"]))
        xf.set("fillId", str(int(xf.get("fillId", 0)) + offsets["fills"]))
        xf.set("borderId", str(int(xf.get("borderId", 0)) + offsets["borders"]))
        xf.set("numFmtId", format_ids.get(xf.get("numFmtId", "0"), xf.get("numFmtId", "0")))
        xf.set("xfId", "0")  # the user's Normal style
        cell_formats.append(xf)
    cell_formats.set("count", str(len(cell_formats.findall(q("xf")))))
    donor_dxfs = donor.find(q("dxfs"))
    differential = 0
    if donor_dxfs is not None and len(donor_dxfs):
        dxfs = _child(target, "dxfs")
        differential = len(dxfs.findall(q("dxf")))
        for dxf in donor_dxfs.findall(q("dxf")):
            dxfs.append(dxf)
        dxfs.set("count", str(len(dxfs.findall(q("dxf")))))
    return _Offsets(offset, differential)


def _add_sheet_entries(book, rels, types, donor: _Donor, taken: set[str], existing: dict) -> dict[str, str]:
    """New <sheet>, relationship, content type and print names for each donor sheet.
    Returns new part path → donor part path."""
    sheets = book.find(q("sheets"))
    first_index = len(sheets)
    sheet_id = max([0] + [attr_int(s, "sheetId") for s in sheets]) + 1
    new_parts = {}
    for name, donor_part in donor.parts.items():
        part = free_part_name(taken, (f"xl/worksheets/sheet{n}.xml" for n in count(1)))
        rel_id = free_rel_id(rels)
        etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id=rel_id, Type=WORKSHEET_TYPE,
                         Target=part.removeprefix("xl/"))
        etree.SubElement(types, f"{{{CT_NS}}}Override", PartName=f"/{part}", ContentType=WORKSHEET_CT)
        etree.SubElement(sheets, q("sheet"), {"name": name, "sheetId": str(sheet_id), f"{{{REL_NS}}}id": rel_id})
        sheet_id += 1
        new_parts[part] = donor_part
    if donor.defined_names:
        defined = book.find(q("definedNames"))
        if defined is None:
            defined = etree.Element(q("definedNames"))
            insert_in_order(book, defined, BEFORE_DEFINED_NAMES)
        for name in donor.defined_names:
            if name.get("localSheetId") is not None:
                name.set("localSheetId", str(int(name.get("localSheetId")) + first_index))
            defined.append(name)
    return new_parts


def _restyle_sheet(donor: _Donor, part: str, offsets: _Offsets) -> bytes:
    root = parse_xml(donor.zip.read(part), part)
    for element in root.iter(q("c"), q("row"), q("col")):
        attribute = "style" if element.tag == q("col") else "s"
        if element.get(attribute) is not None:
            element.set(attribute, str(int(element.get(attribute)) + offsets.cell))
        if element.tag == q("c") and element.get("t") == "s":
            _inline(element, donor.strings)
    for rule in root.iter(q("cfRule")):
        if rule.get("dxfId") is not None:
            rule.set("dxfId", str(int(rule.get("dxfId")) + offsets.differential))
    for view in root.iter(q("sheetView")):
        view.attrib.pop("tabSelected", None)  # two selected tabs would group the sheets in Excel
    return serialize(root)


def _inline(cell: etree._Element, strings: list) -> None:
    value = cell.find(q("v"))
    holder = etree.Element(q("is"))
    for child in strings[int(value.text)]:
        holder.append(etree.fromstring(etree.tostring(child)))
    cell.replace(value, holder)
    cell.set("t", "inlineStr")

