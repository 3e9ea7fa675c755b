"""Far-out and huge sheets (issue 11, item 3): calamine's dense grid would need the whole rectangle
up to the farthest cell, so such sheets are streamed row by row, columns A–Z only."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from xlpipeline.ooxml.cells import SheetRows, needs_rows
from xlpipeline.rules import load_rules
from xlpipeline.workbook.layout import LEDGER, PARAMS, SUMMARY, SummaryLayout

SUMMARY_AT = SummaryLayout(load_rules(2026))
LEDGER_PART, PARAMS_PART = "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"
PEAK = """
import resource, sys
from xlpipeline.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
try:  # this program's own peak: ru_maxrss also counts what the forking test process held (Linux)
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) // 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(peak, file=sys.stderr)
sys.exit(code)
"""


def with_far_cell(source, target, part: str, ref: str, value: str = "<v>1</v>", t: str = ""):
    """The workbook with one more cell, alone in its row, at `ref` of `part`."""
    row = "".join(ch for ch in ref if ch.isdigit())
    cell = f'<row r="{row}"><c r="{ref}"{t}>{value}</c></row>'.encode()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data.replace(b"</sheetData>", cell + b"</sheetData>") if info.filename == part else data)
    return target


def score_json(path, *extra):
    """`score --json` in a process of its own: (exit code, result, stderr, peak memory in MB)."""
    proc = subprocess.run([sys.executable, "-c", PEAK, "score", str(path), "--json", *extra],
                          capture_output=True, text=True)
    *messages, peak = proc.stderr.strip().splitlines()
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None, "\n".join(messages), int(peak)


@pytest.fixture
def logged(make_workbook):
    return make_workbook([(date(2026, 3, 1), None, "9.D", 3), (date(2026, 4, 1), None, "1.B", 1)], 95)


@pytest.mark.parametrize("part", [LEDGER_PART, PARAMS_PART], ids=[LEDGER, PARAMS])
@pytest.mark.parametrize("ref", ["XFD1048576", "XFD5000", "K1048576", "AA30"])
def test_a_far_cell_outside_the_data_scores_as_without_it(logged, tmp_path, part, ref):
    _, expected, _, _ = score_json(logged, "--dry-run")
    far = with_far_cell(logged, tmp_path / "远.xlsx", part, ref)
    status, result, err, peak = score_json(far)
    assert status == 0, err
    assert result == expected
    assert peak < 200, f"peak memory {peak} MB"
    written = CalamineWorkbook.from_path(str(far)).get_sheet_by_name(SUMMARY).to_python()
    assert Decimal(repr(written[SUMMARY_AT.total_row - 1][3])) == Decimal(expected["total"])


def test_a_far_row_inside_the_log_columns_is_a_case(logged, tmp_path):
    """Column A is the log's 日期: a value at A1048576 is a row to check, and the check names it."""
    far = with_far_cell(logged, tmp_path / "远.xlsx", LEDGER_PART, "A1048576")
    before = far.read_bytes()
    status, _, err, peak = score_json(far)
    assert status == 1 and f"{LEDGER}!C1048576: 情形代码不能为空" in err and "Traceback" not in err
    assert peak < 200 and far.read_bytes() == before


@pytest.mark.parametrize("ref, expected", [("A2", False), ("Z199999", False), ("AA2", True), ("A200000", True),
                                           ("XFD1", True), ("A1048576", True)])
def test_which_sheets_are_streamed(logged, tmp_path, ref, expected):
    far = with_far_cell(logged, tmp_path / "远.xlsx", LEDGER_PART, ref)
    with zipfile.ZipFile(far) as z:
        assert needs_rows(z, LEDGER_PART) is expected


def test_streamed_values_are_calamines(tmp_path):
    """Every kind of cell reads as calamine reads it: numbers, dates by format (built-in, custom and
    the Chinese built-in 31), booleans, errors, formula results, shared, inline and rich strings."""
    path = tmp_path / "类型.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("S")
    day, moment, chinese = (wb.add_format({"num_format": f}) for f in ("yyyy-mm-dd", "yyyy-mm-dd hh:mm", 31))
    bold = wb.add_format({"bold": True})
    ws.write_row(0, 0, [3, 2.5, 0.1, -7, True, False, "文字", "=x", ""])
    ws.write_formula(1, 0, "=1/0", None, "#DIV/0!")
    ws.write_formula(1, 1, "=1+1", None, 2)
    ws.write_formula(1, 2, '="a"&"b"', None, "ab")
    ws.write_datetime(1, 3, datetime(2026, 3, 1), day)
    ws.write_datetime(1, 4, datetime(2026, 3, 1, 10, 30), moment)
    ws.write_number(1, 5, 46082, chinese)
    ws.write_rich_string(1, 6, "普通", bold, "加粗")
    ws.write(3, 25, "Z4")
    wb.close()
    expected = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("S").to_python(skip_empty_area=False)
    got = list(SheetRows(path, "xl/worksheets/sheet1.xml", "S"))
    assert [row + [""] * (len(expected[0]) - len(row)) for row in got] == expected
    assert got[1][3] == date(2026, 3, 1) and got[1][4] == datetime(2026, 3, 1, 10, 30)


@pytest.mark.parametrize("cell, message", [
    ('<c r="A0"><v>1</v></c>', "单元格位置“A0”无效"),
    ('<c r="1A"><v>1</v></c>', "单元格位置“1A”无效"),
    ('<c r="B9"><v>abc</v></c>', "单元格 B9 已损坏"),
    ('<c r="B9" s="x"><v>1</v></c>', "单元格 B9 已损坏"),
    ('<c r="B9" t="s"><v>99999</v></c>', "单元格 B9 已损坏"),
    ('<c r="B9" t="d"><v>2026-13-01</v></c>', "单元格 B9 已损坏"),
])
def test_a_damaged_cell_in_a_streamed_sheet_is_named(logged, tmp_path, cell, message):
    far = with_far_cell(logged, tmp_path / "远.xlsx", LEDGER_PART, "XFD1048576")
    damaged = f'<row r="9">{cell}</row><row r="1048576">'.encode()
    with zipfile.ZipFile(far) as zin, zipfile.ZipFile(tmp_path / "坏.xlsx", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data.replace(b'<row r="1048576">', damaged) if info.filename == LEDGER_PART else data)
    status, _, err, _ = score_json(tmp_path / "坏.xlsx")
    assert status == 2 and f"工作表“{LEDGER}”（{LEDGER_PART}）: {message}" in err and "Traceback" not in err, err


def test_rows_out_of_order_are_refused(logged, tmp_path):
    """No application writes row 9 after row 1048576; reading on would misplace or drop cases."""
    far = with_far_cell(logged, tmp_path / "远.xlsx", LEDGER_PART, "XFD1048576")
    far = with_far_cell(far, tmp_path / "乱序.xlsx", LEDGER_PART, "A9")
    status, _, err, _ = score_json(far)
    assert status == 2 and "第 9 行出现在第 1048576 行之后" in err and "Traceback" not in err, err
