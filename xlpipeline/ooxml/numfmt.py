"""Number formats, as far as reading parameters needs them: a cell's format code, from the sheet
part and the styles part, and whether it shows numbers as percent (0.925 shown as 92.5%)."""
from __future__ import annotations

import re
import zipfile
from typing import BinaryIO

from xlpipeline.ooxml.parts import find_sheets, q, sheet_parts, styles_part
from xlpipeline.ooxml.package import parse_xml, read_part
from xlpipeline.ooxml.patch import read_sheet

BUILTIN = {0: "General", 9: "0%", 10: "0.00%"}  # of the built-in formats, the ones that matter here
LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # quoted text, escaped characters, [colour]/[condition]


def is_percent(code: str | None) -> bool:
    """A format that multiplies by 100 and shows "%" (a "%" in quotes or escaped is only text)."""
    return "%" in LITERAL.sub("", code or "")


def read_number_formats(source: BinaryIO, sheet: str, refs: set[str]) -> dict[str, str]:
    """The format code of each named cell of `sheet` ("General" where none is set)."""
    with zipfile.ZipFile(source) as zin:
        parts = sheet_parts(zin)
        name = find_sheets((sheet,), parts).get(sheet)
        if name is None or not refs:
            return {}
        _, sheet_data = read_sheet(zin, name, parts[name])
        styles = {c.get("r"): int(c.get("s") or 0) for c in sheet_data.iter(q("c")) if c.get("r") in refs}
        codes = _xf_codes(zin)
    return {ref: codes[s] if s < len(codes) else "General" for ref, s in styles.items()}


def _xf_codes(zin: zipfile.ZipFile) -> list[str]:
    """The format code of each cell style (cellXfs), in order."""
    rels = parse_xml(read_part(zin, "xl/_rels/workbook.xml.rels"), "xl/_rels/workbook.xml.rels")
    part = styles_part(rels)
    if part is None or part not in zin.namelist():
        return []
    styles = parse_xml(read_part(zin, part), part)
    custom = {int(f.get("numFmtId")): f.get("formatCode") or "" for f in styles.iter(q("numFmt"))}
    xfs = styles.find(q("cellXfs"))
    ids = [int(xf.get("numFmtId") or 0) for xf in (xfs if xfs is not None else [])]
    return [custom.get(i) or BUILTIN.get(i, "General") for i in ids]
