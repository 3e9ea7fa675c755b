"""Number formats, as far as reading needs them: a cell's format code, from the sheet part and the
styles part; whether it shows numbers as percent (0.925 shown as 92.5%) or as a date."""
from __future__ import annotations

import re
import zipfile
from typing import BinaryIO

from xlpipeline.errors import FileProblem
from xlpipeline.ooxml.parts import DamagedPart, attr_int, find_sheets, q, sheet_parts, workbook_part
from xlpipeline.ooxml.package import parse_xml, read_part
from xlpipeline.ooxml.patch import read_sheet

BUILTIN = {0: "General", 9: "0%", 10: "0.00%"}  # of the built-in formats, the ones that matter here
# built-in date and time formats, with those of the Chinese, Japanese and Korean locales (ECMA-376 18.8.30)
BUILTIN_DATES = frozenset({*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)})
LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # quoted text, escaped characters, [colour]/[condition]


def is_percent(code: str | None) -> bool:
    """A format that multiplies by 100 and shows "%" (a "%" in quotes or escaped is only text)."""
    return "%" in LITERAL.sub("", code or "")


def is_date(code: str) -> bool:
    """A custom format that shows a number as a date or time (y, m, d, h, s outside literals)."""
    return any(letter in "ymdhs" for letter in LITERAL.sub("", code).lower()) and code != "General"


def date_styles(zin: zipfile.ZipFile) -> frozenset[int]:
    """The cell styles (indexes into cellXfs) whose numbers are dates, as calamine reads them."""
    return frozenset(index for index, (number, code) in enumerate(_xf_formats(zin))
                     if number in BUILTIN_DATES or (number not in BUILTIN and is_date(code)))


def read_number_formats(source: BinaryIO, sheet: str, refs: set[str]) -> dict[str, str]:
    """The format code of each named cell of `sheet` ("General" where none is set)."""
    with zipfile.ZipFile(source) as zin:
        parts = sheet_parts(zin)
        name = find_sheets((sheet,), parts).get(sheet)
        if name is None or not refs:
            return {}
        _, sheet_data = read_sheet(zin, name, parts[name])
        styles = {c.get("r"): attr_int(c, "s") for c in sheet_data.iter(q("c")) if c.get("r") in refs}
        codes = _xf_codes(zin)
    return {ref: codes[s] if s < len(codes) else "General" for ref, s in styles.items()}


def _xf_codes(zin: zipfile.ZipFile) -> list[str]:
    """The format code of each cell style (cellXfs), in order."""
    return [code for _, code in _xf_formats(zin)]


def _xf_formats(zin: zipfile.ZipFile) -> list[tuple[int, str]]:
    """The number format of each cell style (cellXfs), in order: its id and its code."""
    rels = parse_xml(read_part(zin, "xl/_rels/workbook.xml.rels"), "xl/_rels/workbook.xml.rels")
    part = workbook_part(rels, "styles")
    if part is None or part not in zin.namelist():
        return []
    styles = parse_xml(read_part(zin, part), part)
    try:
        custom = {attr_int(f, "numFmtId"): f.get("formatCode") or "" for f in styles.iter(q("numFmt"))}
        xfs = styles.find(q("cellXfs"))
        ids = [attr_int(xf, "numFmtId") for xf in (xfs if xfs is not None else [])]
    except DamagedPart as exc:
        raise FileProblem(f"{part}: 样式部件已损坏（{exc}）") from None
    return [(i, custom.get(i) or BUILTIN.get(i, "General")) for i in ids]
