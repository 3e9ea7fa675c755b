"""What the benchmarks share: generated working workbooks and best-of-N timing."""
from __future__ import annotations

import random
import time
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from xlpipeline.create import init_workbook
from xlpipeline.ooxml.parts import sheet_parts
from xlpipeline.ooxml.patch import patch_package
from xlpipeline.rules import load_rules
from xlpipeline.workbook.layout import LEDGER, PARAM_RANKS, PARAM_SATISFACTION, PARAMS, param_cell

REPEAT = 3
START, EPOCH = date(2026, 1, 1), date(1899, 12, 30)


def make_workbook(path: Path, rows: int) -> None:
    """A working workbook from `init` with `rows` random log rows and 参数 filled in. The rows are
    written straight into the log sheet's XML: openpyxl would take minutes and gigabytes for a
    million of them."""
    rules = load_rules(2026)
    base, logged = path.with_name(path.stem + "-init.xlsx"), path.with_name(path.stem + "-log.xlsx")
    init_workbook(base, rules, "市散墙办", force=True)
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(logged, "w", zipfile.ZIP_DEFLATED) as zout:
        part = sheet_parts(zin)[LEDGER]
        for info in zin.infolist():
            if info.filename != part:
                zout.writestr(info, zin.read(info))
                continue
            head, tail = zin.read(info).split(b"</sheetData>")
            with zout.open(info.filename, "w", force_zip64=True) as out:
                out.write(head)
                for number, values in enumerate(_log_rows(rules, rows), start=2):
                    out.write(_row_xml(number, values))
                out.write(b"</sheetData>" + tail)
    ranks = {param_cell(label): place for label, place in zip(PARAM_RANKS, (8, 6))}
    with open(logged, "rb") as source, open(path, "wb") as out:
        patch_package(source, out, {PARAMS: {param_cell(PARAM_SATISFACTION): Decimal("92.5"), **ranks}})
    base.unlink()
    logged.unlink()


def _log_rows(rules, rows: int):
    rng = random.Random(rows)
    codes = list(rules.codes.values())
    for n in range(rows):
        code = rng.choice(codes)
        modifier = rng.choice(code.modifiers) if code.modifiers and rng.random() < 0.3 else None
        yield (START + timedelta(days=rng.randrange(365)), code.item if n % 2 else None,
               code.display if n % 3 == 0 else code.code, rng.randint(1, 3), modifier,
               f"第{n}条情况说明", f"文〔2026〕{n}号", "综合科")


def _row_xml(number: int, values) -> bytes:
    cells = []
    for letter, value in zip("ABCDEFGH", values):
        ref = f"{letter}{number}"
        if isinstance(value, str):
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        elif isinstance(value, date):  # a date as its serial number, which the log accepts
            cells.append(f'<c r="{ref}"><v>{(value - EPOCH).days}</v></c>')
        elif value is not None:
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'.encode()


def best(fn, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
