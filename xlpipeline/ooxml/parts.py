"""Shared pieces of the Office Open XML package format: namespaces, cell references, the
sheet-name-to-part map, and writing a value into a <c> element."""
from __future__ import annotations

import math
import posixpath
import re
import sys
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, NamedTuple, Union

from lxml import etree

from xlpipeline.errors import FileProblem
from xlpipeline.ooxml.package import MAIN_NS, PKG_REL_NS, parse_xml, read_part

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
MAX_ROW = 1048576
REF_RE = re.compile(r"^([A-Z]{1,3})([1-9][0-9]{0,6})$")
# Characters XML 1.0 cannot carry; Excel would refuse the file. Lone surrogates come from file
# names that are not UTF-8 (Python keeps their bytes so): lxml could not write them at all.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CellValue = Union[str, int, float, Decimal, bool, date, None]
EXCEL_EPOCH = datetime(1899, 12, 30)


def q(tag: str) -> str:
    return f"{{{MAIN_NS}}}{tag}"


def column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index


def column_letters(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def split_ref(ref: str) -> tuple[int, int]:
    match = REF_RE.match(ref)
    if not match:
        raise DamagedPart(f"单元格位置“{ref[:20]}”无效")
    return int(match[2]), column_index(match[1])


def sheet_parts(zin: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → worksheet part path, from workbook.xml and its relationships."""
    book = parse_xml(read_part(zin, "xl/workbook.xml"), "xl/workbook.xml")
    rels = parse_xml(read_part(zin, "xl/_rels/workbook.xml.rels"), "xl/_rels/workbook.xml.rels")
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{PKG_REL_NS}}}Relationship")}
    parts, present = {}, set(zin.namelist())
    for sheet in book.iter(q("sheet")):
        name = sheet.get("name")
        if not name:
            raise FileProblem("xl/workbook.xml: 有一个工作表没有名称（工作簿已损坏）；请用 Excel/WPS 打开修复后另存")
        parts[name] = workbook_target(targets.get(sheet.get(f"{{{REL_NS}}}id")) or "")
        if parts[name] not in present:
            raise FileProblem(f"工作表“{name}”的部件 {parts[name]} 不存在（工作簿已损坏）；请用 Excel/WPS 打开修复后另存")
    return parts


def has_macro_sheets(zin: zipfile.ZipFile) -> bool:
    """Whether the workbook has Excel 4.0 macro sheets (which calamine cannot open a workbook with)."""
    rels = parse_xml(read_part(zin, "xl/_rels/workbook.xml.rels"), "xl/_rels/workbook.xml.rels")
    return any(r.get("Type", "").endswith(("/xlMacrosheet", "/xlIntlMacrosheet"))
               for r in rels.iter(f"{{{PKG_REL_NS}}}Relationship"))


def find_sheets(wanted, present) -> dict[str, str]:
    """The workbook's own name for each wanted sheet it has: the same, or the same but for
    surrounding spaces (Excel keeps them, and they are invisible on the tab)."""
    present = list(present)
    by_stripped = {name.strip(): name for name in reversed(present)}  # the first one wins
    found = {name: name if name in present else by_stripped.get(name) for name in wanted}
    return {name: actual for name, actual in found.items() if actual is not None}


def workbook_part(rels: etree._Element, kind: str) -> str | None:
    """The part of relationship type `kind` ("styles", "sharedStrings") named by the workbook's
    relationships (`rels`: xl/_rels/workbook.xml.rels)."""
    for rel in rels.iter(f"{{{PKG_REL_NS}}}Relationship"):
        if rel.get("Type", "").endswith("/" + kind):
            return workbook_target(rel.get("Target") or "")
    return None


def workbook_target(target: str) -> str:
    """A target of workbook.xml's relationships as a part name: absolute, or relative to xl/ (OPC)."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def part_is_free(taken: set[str], name: str) -> bool:
    """Whether a new part may be called `name`: no part in `taken` (names in lower case) has that
    name ignoring case, nor the name of its relationships part."""
    folder, _, file = name.rpartition("/")
    return name.lower() not in taken and f"{folder}/_rels/{file}.rels".lower() not in taken


def free_part_name(taken: set[str], candidates: Iterable[str]) -> str:
    """The first free candidate part name (`part_is_free`); it joins `taken`."""
    for name in candidates:
        if part_is_free(taken, name):
            taken.add(name.lower())
            return name
    raise AssertionError("unreachable: the candidates are endless")


def free_rel_id(rels: etree._Element) -> str:
    """A relationship Id not yet used in a relationships part."""
    used = {r.get("Id") for r in rels}
    return next(f"rId{n}" for n in range(1, 10**6) if f"rId{n}" not in used)


class DamagedPart(FileProblem, ValueError):
    """A value no application writes (an attribute, a cell reference); callers that know the part
    add its name."""


def attr_number(element: etree._Element | None, name: str, default: float, low: float = 0,
                high: float = 1e9) -> float:
    """A numeric attribute, `default` where the element or the attribute is absent."""
    text = element.get(name) if element is not None else None
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # also NaN
        raise DamagedPart(f"{etree.QName(element).localname} 的属性 {name}=“{text[:20]}”无效")
    return value


def attr_int(element: etree._Element | None, name: str, default: int = 0, high: int = 2**31) -> int:
    """A whole-number attribute (an index or an id), `default` where it is absent."""
    value = attr_number(element, name, default, 0, high)
    if value != int(value):
        raise DamagedPart(f"{etree.QName(element).localname} 的属性 {name}=“{element.get(name)}”无效")
    return int(value)


def row_number(row: etree._Element, implied: int) -> int:
    """A <row>'s number: its `r`, or `implied` (the one after the previous row) where it has none."""
    r = attr_int(row, "r", implied, MAX_ROW)
    if r < 1:
        raise DamagedPart(f"行号“{row.get('r')}”无效")
    return r


def column_widths(root: etree._Element) -> dict[int, float]:
    """A worksheet's column widths in characters, by column number, from its <cols>."""
    widths = {}
    for col in root.iter(q("col")):
        first, last = (int(attr_number(col, edge, 1, 1, 16384)) for edge in ("min", "max"))
        for index in range(first, last + 1):
            widths[index] = attr_number(col, "width", 9, 0, 255)
    return widths


def fill_implied_refs(sheet_data: etree._Element) -> None:
    """Rows and cells may omit `r` (position follows the previous one); name them so they can be found.
    A reference that is there is checked, and kept when it names its own row (as every application
    writes it): one regular-expression match per cell, the column worked out only when needed."""
    r = 0
    for row in sheet_data.iter(q("row")):
        r = row_number(row, r + 1)
        row.set("r", str(r))
        own_row = str(r)
        col, letters = 0, None  # the previous cell's column: its index, or its letters not yet worked out
        for cell in row.iter(q("c")):
            ref = cell.get("r")
            if ref:
                match = REF_RE.match(ref)
                if not match:
                    raise DamagedPart(f"单元格位置“{ref[:20]}”无效")
                if match[2] == own_row:
                    letters = match[1]
                    continue
                col, letters = column_index(match[1]), None
            else:
                col, letters = (column_index(letters) if letters else col) + 1, None
            cell.set("r", f"{column_letters(col)}{r}")


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def insert_in_order(parent: etree._Element, element: etree._Element, preceding: tuple[str, ...]) -> None:
    """Insert `element` after the last child whose local name is in `preceding` (schema order)."""
    anchor = [child for child in parent if etree.QName(child).localname in preceding]
    if anchor:
        anchor[-1].addnext(element)
    else:
        parent.insert(0, element)


# Elements that precede <calcPr> in CT_Workbook, so a new one is inserted in schema order.
BEFORE_CALCPR = ("fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews", "sheets",
                 "functionGroups", "externalReferences", "definedNames")


def full_calc_on_load(workbook: etree._Element) -> None:
    """Ask Excel to recalculate every formula when it opens the workbook (workbook.xml's calcPr)."""
    calc = workbook.find(q("calcPr"))
    if calc is None:
        calc = etree.Element(q("calcPr"))
        insert_in_order(workbook, calc, BEFORE_CALCPR)
    calc.set("fullCalcOnLoad", "1")


MAX_NUMBER = Decimal(sys.float_info.max)  # the largest number an Excel cell holds (a double), exactly
EXACT_DIGITS = 15  # Excel keeps 15 significant digits of a number


def set_value(cell: etree._Element, value: CellValue) -> None:
    """Replace a cell's value, keeping its style. Text becomes an inline string (never a formula),
    numbers stay exact decimals, dates become Excel serial numbers, None empties the cell. A number
    beyond what a cell holds is refused (ValueError); a whole number (int or Decimal) of more than 15
    significant digits is written as text, since as a number Excel would keep only its first 15."""
    for child in list(cell):
        if etree.QName(child).localname in ("v", "is", "f"):
            cell.remove(child)
    cell.attrib.pop("t", None)
    if value is None or value == "":
        return
    if isinstance(value, str):
        cell.set("t", "inlineStr")
        holder = etree.Element(q("is"))
        text = etree.SubElement(holder, q("t"))
        text.text = ILLEGAL_XML.sub("", value)
        text.set(XML_SPACE, "preserve")
    else:
        holder = etree.Element(q("v"))
        if isinstance(value, bool):
            cell.set("t", "b")
            holder.text = "1" if value else "0"
        elif isinstance(value, (date, datetime)):
            moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
            holder.text = format(Decimal((moment - EXCEL_EPOCH).total_seconds()) / 86400, "f")
        else:
            number = Decimal(value)
            if not number.is_finite() or abs(number) > MAX_NUMBER:  # Excel repairs a file with NaN, ∞ or 1e400
                shown = str(value) if len(str(value)) <= 20 else f"{str(value)[:12]}…（{len(str(value))} 位）"
                raise ValueError(f"数值 {shown} 无法写入 Excel 单元格（Excel 数值的范围为 ±1.8×10³⁰⁸）")
            if not isinstance(value, float) and number == number.to_integral_value() \
                    and len(number.normalize().as_tuple().digits) > EXACT_DIGITS:
                return set_value(cell, format(number, "f"))  # an 18-digit number kept whole, as text
            holder.text = format(number, "f")
    cell.insert(0, holder)  # before any <extLst>, as CT_Cell orders them


class Formula(NamedTuple):
    """A formula cell to write: its text (without "=") and the value it computes, stored as the
    cached result so that readers which do not calculate show it. `replace` allows replacing a
    different formula in the cell (restoring ours); without it a different formula is refused."""
    text: str
    value: CellValue
    replace: bool = False


_STRING = re.compile(r'("(?:[^"]|"")*")')
_WHOLE_COLUMN = re.compile(r"(\$?[A-Z]{1,3})\$?1:(\$?[A-Z]{1,3})\$?1048576\b")


def _normalise(text: str) -> str:
    """A formula's text as different applications save the same formula: without "=", spaces,
    sheet-name quotes or letter case outside string literals, whole columns as `A:A`."""
    parts = _STRING.split(text.lstrip("="))
    for i in range(0, len(parts), 2):  # the even parts are outside string literals
        outside = re.sub(r"[\s']", "", parts[i]).upper()
        parts[i] = _WHOLE_COLUMN.sub(r"\1:\2", outside)
    return "".join(parts)


def same_formula(saved: str, ours: str) -> bool:
    """Whether a saved formula is ours, however Excel or LibreOffice re-spelled it."""
    return saved == ours or _normalise(saved) == _normalise(ours)


def set_formula(cell: etree._Element, formula: Formula) -> None:
    """Write a formula with its cached result, keeping the cell's style. A formula already in the
    cell stays as saved (the caller has checked that it is ours) unless `formula.replace`."""
    existing = cell.find(q("f"))
    set_value(cell, None)
    f = existing if existing is not None and not formula.replace else etree.Element(q("f"))
    if f is not existing:
        f.text = formula.text
    cell.insert(0, f)
    value = formula.value
    if value is None or value == "":
        return
    v = etree.Element(q("v"))
    if isinstance(value, str):
        cell.set("t", "str")  # a formula's text result is stored in <v>, not as an inline string
        v.text = ILLEGAL_XML.sub("", value)
    else:
        v.text = format(Decimal(value), "f")
    f.addnext(v)
