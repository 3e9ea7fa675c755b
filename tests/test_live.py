"""Live formulas: the workbook scores itself in LibreOffice exactly as `score` does, flags what it
cannot count, uses only portable functions, and keeps the engine's figures as cached values."""
from __future__ import annotations

import random
import shutil
import re
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from xlpipeline.errors import InputErrors
from xlpipeline.workbook.layout import FORM, LEDGER, PARAMS, SUMMARY, FormLayout, SummaryLayout
from xlpipeline.workbook.book import FileBook
from xlpipeline.workbook.live import LIVE, LiveLayout, live_sheet_formulas, owned_formulas
from xlpipeline.ooxml.parts import same_formula, sheet_parts
from xlpipeline.pipeline import plan_scores, score_workbook
from xlpipeline.rules import load_rules
from xlpipeline.ooxml.patch import patch_package

RULES = load_rules(2026)
CODES = list(RULES.codes.values())
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# Functions Excel 2010+, WPS and LibreOffice compute alike, none volatile
PORTABLE = {"SUMIFS", "COUNTIFS", "SUMPRODUCT", "COUNTA", "SUM", "MIN", "MAX", "IF", "IFERROR", "AND", "OR",
            "NOT", "ISNUMBER", "ISERROR", "MOD", "INT", "ROUND", "ABS", "DATE", "FIXED", "INDEX", "MATCH", "ROW",
            "CELL", "LEFT"}  # CELL("format") is in Excel, WPS and LibreOffice alike
FORM_AT, SUMMARY_AT, LIVE_AT = FormLayout(RULES), SummaryLayout(RULES), LiveLayout(RULES)
LIVE_FORMULAS = live_sheet_formulas(RULES)


def write_log(blank, path, rows: dict[int, tuple], satisfaction=None, rank=None):
    """Type cases into 扣分台账 (row number → values from 日期 on) and the 参数, through our patcher."""
    cells = {}
    for r, values in rows.items():
        for col, value in zip("ABCDEFGH", values):
            cells[f"{col}{r}"] = Decimal(repr(value)) if isinstance(value, float) else value
    params = {"B4": satisfaction if satisfaction is None or isinstance(satisfaction, str)  # text stays text
              else Decimal(str(satisfaction)), "B5": rank}
    with open(blank, "rb") as source, open(path, "wb") as out:
        patch_package(source, out, {LEDGER: cells, PARAMS: params})
    return path


def live_figures(path) -> dict:
    """What a spreadsheet shows: the cached values, as calamine reads them."""
    book = CalamineWorkbook.from_path(str(path))
    form = book.get_sheet_by_name(FORM).to_python()
    summary = book.get_sheet_by_name(SUMMARY).to_python()
    checks = book.get_sheet_by_name(LIVE).to_python()
    cent = lambda v: f"{Decimal(repr(v)).quantize(Decimal('0.01'))}" if isinstance(v, float) else v  # noqa: E731
    total = FORM_AT.total_row - 1
    return {
        "items": {no: cent(form[FORM_AT.item_row(no) - 1][8]) for no in range(1, 22)},
        "blocks": [cent(form[FORM_AT.item_row(b.items[0]) - 1][9]) for b in RULES.blocks],
        "bonus": cent(summary[SUMMARY_AT.bonus_row - 1][3]),
        "total": cent(form[total][9]),
        "summary_total": cent(summary[SUMMARY_AT.total_row - 1][3]),
        "note": form[total][10],
        "pending": checks[LIVE_AT.check_row("待核对行数") - 1][1],
        "params": checks[LIVE_AT.check_row("参数待核对项数") - 1][1],
    }


def engine_figures(path) -> dict:
    data = score_workbook(path, dry_run=True).results.to_json()
    return {"items": {i["no"]: i["deduction"] for i in data["items"]},
            "blocks": [b["score"] for b in data["blocks"]], "bonus": data["bonus"], "total": data["total"],
            "summary_total": data["total"]}


def agree(live: dict, engine: dict) -> None:
    assert {k: live[k] for k in engine} == engine
    assert live["pending"] == 0 and live["params"] == 0 and live["note"].startswith("各分块得分合计")


# --- random logs ------------------------------------------------------------------------------

SATISFACTION = [None, 0, 100, 90, 93.5, 99.99, 50.25, 87.45, 66.65, 12.34]
RANKS = [None, 1, 4, 5, 6, 7, 8, 10, 15, 30]


def random_log(rng: random.Random) -> dict[int, tuple]:
    rows, r = {}, 1
    for _ in range(rng.randint(0, 40)):
        r += rng.choice([1, 1, 1, 2, 7, 500]) if r < 99000 else 1
        if rng.random() < 0.03:
            r = max(r, rng.randint(60000, 99990))  # appended far below the header
        code = rng.choice(CODES)
        modifier = rng.choice(code.modifiers) if code.modifiers and rng.random() < 0.6 else None
        spelled = rng.choice([code.code, code.display, code.code.lower(), code.display.lower()])
        count = rng.choice([1, 1, 2, 3, 5, 12, 40])
        when = date(2026, rng.randint(1, 12), rng.randint(1, 28))
        item = rng.choice([None, code.item, float(code.item)])
        rows[r] = (when, item, spelled, count, modifier, rng.choice(["", "情况说明"]), "", rng.choice(["", "综合科"]))
    return rows


@pytest.fixture(scope="module")
def random_workbooks(blank_workbook, tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    rng = random.Random(2026)
    paths = []
    for n in range(200):
        paths.append(write_log(blank_workbook, folder / f"log{n:03}.xlsx", random_log(rng),
                               rng.choice(SATISFACTION), rng.choice(RANKS)))
    # exact ties: 17 × 6.5 % = 1.105 → 1.11, and sums of 0.1
    ties = {2: (date(2026, 3, 1), None, "11.C", 1), 3: (date(2026, 3, 2), None, "12.B", 1),
            4: (date(2026, 3, 3), None, "9.D", 3)}
    paths.append(write_log(blank_workbook, folder / "ties.xlsx", ties, 93.5, 7))
    return paths


def test_live_figures_equal_score_on_200_random_logs(random_workbooks, recalculate, tmp_path):
    outs = recalculate(random_workbooks, tmp_path)
    for source, out in zip(random_workbooks, outs):
        agree(live_figures(out), engine_figures(source))
        assert score_workbook(source, dry_run=True).results.pending == ()  # lower case, 指标序号 as 9.0: counted
    ties = live_figures(outs[-1])
    assert ties["items"][17] == "1.11" and ties["items"][9] == "0.30" and ties["items"][21] == "1.00"


# --- rows the formulas cannot count -----------------------------------------------------------

VALID = {2: (date(2026, 3, 1), 1, "1.B", 3), 3: (date(2026, 4, 2), None, "9.D", 7),
         4: (date(2026, 4, 3), None, "12.B", 1, "非市管干部"), 5: (date(2026, 5, 3), None, "22.A", 1, "办公厅名义"),
         6: (date(2026, 5, 4), 13, RULES.codes["13.A"].display, 1)}
INVALID = {  # one row each, appended below the valid ones
    "unknown code": (date(2026, 6, 1), None, "9.X", 1),
    "code with trailing text": (date(2026, 6, 1), None, "9.DX", 1),
    "full-width code": (date(2026, 6, 1), None, "９．Ｄ", 2),
    "date outside the year": (date(2025, 12, 31), None, "9.D", 1),
    "date typed as text": ("2026-06-01", None, "9.D", 1),
    "no date": (None, None, "9.D", 1),
    "count zero": (date(2026, 6, 1), None, "9.D", 0),
    "count not whole": (date(2026, 6, 1), None, "11.A", 1.5),
    "count as text": (date(2026, 6, 1), None, "9.D", "三"),
    "modifier not allowed": (date(2026, 6, 1), None, "9.D", 1, "非市管干部"),
    "unknown modifier": (date(2026, 6, 1), None, "12.A", 1, "减半"),
    "指标序号 contradicts": (date(2026, 6, 1), 3, "9.D", 2),
    "指标序号 not a number": (date(2026, 6, 1), "第9项", "9.D", 2),
    "no code": (date(2026, 6, 1), None, None, 2),
    "only a note": (None, None, None, None, None, "只写了说明"),
    # spellings score accepts and the formulas do not: score counts them, and names them 待核对
    "code with a label of one's own": (date(2026, 6, 1), None, "9.D 自己写的说明", 1),
    "count typed as text digits": (date(2026, 6, 1), None, "9.D", "2"),
    "指标序号 typed as text": (date(2026, 6, 1), "9", "9.D", 1),
    "modifier with a trailing space": (date(2026, 6, 1), None, "12.B", 1, "非市管干部 "),
}


@pytest.fixture(scope="module")
def invalid_workbooks(blank_workbook, tmp_path_factory):
    folder = tmp_path_factory.mktemp("invalid")
    made = {}
    for n, (name, row) in enumerate(INVALID.items()):
        far = 2000 if n % 2 else 7
        made[name] = write_log(blank_workbook, folder / f"bad{n:02}.xlsx", {**VALID, far: row}, 90, 8)
    made["below the rows the formulas read"] = write_log(blank_workbook, folder / "far.xlsx",
                                                         {**VALID, 100002: VALID[3]}, 90, 8)
    made["valid"] = write_log(blank_workbook, folder / "valid.xlsx", VALID, 90, 8)
    return made


def test_rows_the_formulas_cannot_count_are_flagged(invalid_workbooks, recalculate, tmp_path):
    names = list(invalid_workbooks)
    outs = dict(zip(names, recalculate(list(invalid_workbooks.values()), tmp_path)))
    valid = engine_figures(invalid_workbooks["valid"])
    agree(live_figures(outs["valid"]), valid)
    accepted = []
    for name in [*INVALID, "below the rows the formulas read"]:
        live = live_figures(outs[name])
        assert live["pending"] == 1, name
        try:
            pending = score_workbook(invalid_workbooks[name], dry_run=True).results
        except InputErrors:
            pending = None  # score refuses the row: an error with its cell, not 待核对
        if pending is not None:
            accepted.append(name)
            assert len(pending.pending) == 1 and any("待核对" in w for w in pending.warnings), name
        assert live["note"] == "台账有 1 行待核对，以“重新计算”结果为准", name
        assert {k: live[k] for k in valid} == valid, name  # the valid rows still total what score gives
    assert set(accepted) == {"full-width code", "date typed as text", "code with a label of one's own",
                             "count typed as text digits", "指标序号 typed as text", "modifier with a trailing space",
                             "below the rows the formulas read"}


def test_bad_parameters_are_flagged(blank_workbook, recalculate, tmp_path):
    paths = [write_log(blank_workbook, tmp_path / f"p{n}.xlsx", VALID, satisfaction, rank)
             for n, (satisfaction, rank) in enumerate([(92.555, 8), (120, 8), (90, 2.5), (90, 0), ("92.5", 8)])]
    for path, out in zip(paths, recalculate(paths, tmp_path / "out")):
        live = live_figures(out)
        assert live["params"] == 1 and live["note"] == "参数有误，以“重新计算”结果为准", out
        with pytest.raises(InputErrors):  # score refuses what the live formulas flag: the two agree
            score_workbook(path, dry_run=True)


def test_a_percent_formatted_satisfaction_means_what_it_shows(blank_workbook, recalculate, tmp_path):
    """92.5% typed in Excel is 0.925 in a "0.00%" cell: the formulas, like score, read 92.5."""
    plain = write_log(blank_workbook, tmp_path / "plain.xlsx", VALID, 92.5, 8)
    percent = tmp_path / "percent.xlsx"
    wb = load_workbook(plain)
    wb[PARAMS]["B4"].value, wb[PARAMS]["B4"].number_format = 0.925, "0.00%"
    wb.save(percent)
    expected = score_workbook(plain, dry_run=True).results
    assert expected.item(17).amount > 0 and score_workbook(percent, dry_run=True).results == expected
    for out in recalculate([plain, percent], tmp_path / "out"):
        live = live_figures(out)
        assert live["params"] == 0, out
        assert live["items"][17] == str(expected.item(17).amount) and live["total"] == str(expected.total), out


def test_score_refuses_a_satisfaction_formulas_cannot_compute_exactly(blank_workbook, tmp_path):
    path = write_log(blank_workbook, tmp_path / "p.xlsx", VALID, 92.555, 8)
    with pytest.raises(InputErrors, match=re.escape("参数!B4: 满意度测评最多两位小数")):
        score_workbook(path, dry_run=True)


# --- what is written --------------------------------------------------------------------------

def formulas(path) -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(path) as z:
        parts = sheet_parts(z)
        return {sheet: {c.get("r"): c.find(f"{MAIN}f").text for c in etree.fromstring(z.read(part)).iter(f"{MAIN}c")
                        if c.find(f"{MAIN}f") is not None} for sheet, part in parts.items()}


def functions_in(formula: str) -> set[str]:
    outside_strings = re.sub(r'"(?:[^"]|"")*"', '""', formula)
    return set(re.findall(r"([A-Z][A-Z0-9._]*)\(", outside_strings))


def test_only_portable_functions(scored_demo_copy):
    found = formulas(scored_demo_copy)
    used = set().union(*(functions_in(f) for cells in found.values() for f in cells.values()))
    assert used <= PORTABLE, used - PORTABLE
    assert not any("_xlfn" in f or "_xlws" in f for cells in found.values() for f in cells.values())
    assert found[FORM].keys() == owned_formulas(RULES)[FORM].keys()
    assert len(found[LIVE]) > 300


@pytest.fixture
def scored_demo_copy(blank_workbook, tmp_path):
    path = write_log(blank_workbook, tmp_path / "demo.xlsx", VALID, 90, 8)
    score_workbook(path)
    return path


def test_score_keeps_formulas_with_cached_values(scored_demo_copy):
    assert formulas(scored_demo_copy)[FORM] == owned_formulas(RULES)[FORM]
    live = live_figures(scored_demo_copy)  # no recalculation: what previews and calamine see
    engine = engine_figures(scored_demo_copy)
    assert {k: live[k] for k in engine} == engine
    assert engine["total"] == "93.90"  # A 8, B 10, C 15, D 14.3, E 5, F 20−0.5−0.5−1.9, G 25−1.5, bonus 1
    assert live["note"] == "各分块得分合计 92.90，加分 1.00"


def test_libreoffice_round_trip_keeps_the_formulas(scored_demo_copy, recalculate, tmp_path):
    once = recalculate([scored_demo_copy], tmp_path / "once")[0]
    twice = recalculate([once], tmp_path / "twice")[0]
    engine = engine_figures(scored_demo_copy)
    for path in (once, twice):
        assert {k: live_figures(path)[k] for k in engine} == engine
    result = score_workbook(twice)  # LibreOffice's spelling of our formulas is still ours
    assert not [w for w in result.results.warnings if "实时公式" in w]
    assert {k: live_figures(twice)[k] for k in engine} == engine


def test_a_figure_overwritten_with_a_number_is_reported_and_restored_on_request(scored_demo_copy, cli):
    ref = FORM_AT.deduction_cell(9)
    wb = load_workbook(scored_demo_copy)
    wb[FORM][ref] = 0
    wb.save(scored_demo_copy)
    status, out, err = cli("score", scored_demo_copy)
    assert status == 0, err
    assert f"提示：{FORM}!{ref}：实时公式已被改为数值" in out
    cell = load_workbook(scored_demo_copy)[FORM][ref]
    assert cell.data_type == "n" and cell.value == 0.7  # the engine's figure, still a value
    status, out, err = cli("score", scored_demo_copy, "--restore-formulas")
    assert status == 0 and f"已恢复 1 处实时公式：{FORM}!{ref}" in out
    assert formulas(scored_demo_copy)[FORM][ref] == owned_formulas(RULES)[FORM][ref]
    assert live_figures(scored_demo_copy)["items"][9] == "0.70"


def test_a_workbook_without_live_formulas_still_gets_values(blank_workbook, tmp_path):
    """Workbooks made before live formulas: score writes plain values, as it always did."""
    path = write_log(blank_workbook, tmp_path / "old.xlsx", VALID, 90, 8)
    wb = load_workbook(path)
    del wb[LIVE]
    for sheet, cells in owned_formulas(RULES).items():
        for ref in cells:
            wb[sheet][ref] = None
    wb.save(path)
    result = score_workbook(path)
    assert not [w for w in result.results.warnings if "实时公式" in w]
    assert not any(formulas(path)[FORM])
    assert live_figures_without_live_sheet(path) == "93.90"


def live_figures_without_live_sheet(path) -> str:
    form = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(FORM).to_python()
    return f"{Decimal(repr(form[FORM_AT.total_row - 1][9])).quantize(Decimal('0.01'))}"


def test_the_live_sheet_is_protected_and_visible(blank_workbook):
    ws = load_workbook(blank_workbook)[LIVE]
    assert ws.protection.sheet and ws.sheet_state == "visible"


AMBER = (0xFF, 0xEB, 0x9C)


def amber_pixels(pdf, folder) -> int:
    """Pixels of the 待核对 fill on every rendered page (pdftoppm's colour PPM)."""
    import subprocess
    subprocess.run(["pdftoppm", "-r", "30", str(pdf), str(folder / "page")], check=True)
    count = 0
    for page in folder.glob("page*.ppm"):
        data = page.read_bytes()
        _, size, _, pixels = data.split(b"\n", 3)  # P6, "W H", 255, then RGB bytes
        count += sum(1 for i in range(0, len(pixels) - 2, 3)
                     if all(abs(pixels[i + k] - AMBER[k]) < 6 for k in range(3)))
    return count


def test_rows_the_formulas_cannot_count_show_amber(blank_workbook, to_pdf, tmp_path):
    """What the user sees: the bad row of 扣分台账 printed amber, nothing amber in a clean log."""
    clean = write_log(blank_workbook, tmp_path / "clean.xlsx", VALID, 90, 8)
    bad = write_log(blank_workbook, tmp_path / "bad.xlsx", {**VALID, 8: INVALID["指标序号 contradicts"]}, 90, 8)
    for name in ("clean_pages", "bad_pages"):
        (tmp_path / name).mkdir()
    assert amber_pixels(to_pdf(clean), tmp_path / "clean_pages") == 0
    assert amber_pixels(to_pdf(bad), tmp_path / "bad_pages") > 100


def test_a_live_sheet_laid_out_otherwise_is_left_alone(scored_demo_copy, cli):
    """Formulas generated for another layout: score still scores, warns, and changes none of them."""
    wb = load_workbook(scored_demo_copy)
    wb[LIVE].protection.sheet = False
    wb[LIVE][f"D{LIVE_AT.item_row(9)}"] = "=1+1"  # as if an older version had put something else there
    wb[LIVE][f"A{LIVE_AT.variant_row(0)}"] = "1.Z"  # ... and laid its rows out otherwise
    wb[FORM][FORM_AT.deduction_cell(9)] = "='实时计分'!$D$90/100"
    wb.save(scored_demo_copy)
    before = formulas(scored_demo_copy)
    for args in ((), ("--restore-formulas",)):
        status, out, err = cli("score", scored_demo_copy, *args)
        assert status == 0, err
        assert "提示：“实时计分”表不是本版本按这一年度规则生成的" in out
        assert formulas(scored_demo_copy) == before


def test_a_damaged_owned_sheet_is_a_clear_error(blank_workbook, tmp_path, cli):
    """Reading our formula cells meets a reference no application writes: a message, no traceback."""
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(blank_workbook) as zin, zipfile.ZipFile(path, "w") as zout:
        part = sheet_parts(zin)[FORM]
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data.replace(b'r="I4"', b'r="I0"') if info.filename == part else data)
    status, out, err = cli("score", path, "--dry-run")
    assert status == 2 and err.startswith(f"{FORM}（") and "单元格或行的位置无效" in err, err


def test_formulas_follow_the_rules_data():
    """A new year's rules file gives a new year's formulas: nothing is written by hand per item."""
    from importlib import resources
    from xlpipeline.workbook.live import live_sheet_formulas
    from xlpipeline.rules import parse_rules
    text = (resources.files("xlpipeline.rules") / "2026.toml").read_text(encoding="utf-8")
    changed = text.replace("year = 2026", "year = 2027").replace(
        '{ code = "9.D", label = "在职党员全年未参与志愿服务（每人次）", points = 0.1 }',
        '{ code = "9.D", label = "在职党员全年未参与志愿服务（每人次）", points = 0.2, cap = 1 }')
    assert changed.count("2027") == 1 and "points = 0.2, cap = 1" in changed
    rules = parse_rules(changed, "2027.toml")
    at = LiveLayout(rules)
    index = next(i for i, v in enumerate(at.variants) if v.code.code == "9.D")
    assert at.variants[index].unit == 20
    formulas = live_sheet_formulas(rules)
    assert formulas[f"K{at.variant_row(index)}"] == f"MIN(100,J{at.variant_row(index)})"
    assert "DATE(2027,1,1)" in formulas[f"B{at.check_row('日期数量有效行数')}"]
    assert not any("2026" in f for f in formulas.values())


# --- a workbook the previous version made ----------------------------------------------------------

EARLIER = Path(__file__).parent / "earlier" / "演示_af4991e.xlsx"  # the demo as version af4991e wrote it


def sheet_values(path, sheet) -> list:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def test_an_earlier_versions_live_formulas_are_replaced_when_the_file_is_written(tmp_path, cli, recalculate):
    path = tmp_path / "旧.xlsx"
    shutil.copy(EARLIER, path)
    log = sheet_values(path, LEDGER)
    assert not all(same_formula(formulas(path)[LIVE].get(ref, ""), text) for ref, text in LIVE_FORMULAS.items())
    status, out, err = cli("score", path)
    assert status == 0, err
    assert "提示：“实时计分”表的公式是本程序旧版本生成的" in out
    found = formulas(path)[LIVE]
    assert all(same_formula(found[ref], text) for ref, text in LIVE_FORMULAS.items())
    titles = sheet_values(path, LIVE)[LIVE_AT.variant_header - 1]
    assert titles[11:13] == ["数量（逐行）", "行数（逐行）"]
    assert sheet_values(path, LEDGER) == log  # the user's cases untouched
    status, out, err = cli("score", path)
    assert status == 0 and "旧版本" not in out, out
    engine = engine_figures(path)
    assert {k: live_figures(path)[k] for k in engine} == engine  # cached values, as written
    again = recalculate([path], tmp_path / "lo")[0]
    assert {k: live_figures(again)[k] for k in engine} == engine  # and as LibreOffice computes them


def test_an_earlier_versions_live_sheet_is_not_rewritten_through_wps(tmp_path):
    """The WPS tab writes through WPS, which holds the file open and cannot write the protected sheet."""
    path = tmp_path / "旧.xlsx"
    shutil.copy(EARLIER, path)
    plan = plan_scores(FileBook(path))
    assert LIVE not in plan.edits and any("旧版本生成的" in w for w in plan.results.warnings)


# --- an engine that cannot parse the exact path ---------------------------------------------------

def test_the_fast_path_computes_where_the_exact_path_cannot_be_parsed(scored_demo_copy, gnumeric, tmp_path):
    """Gnumeric keeps `$C$2:INDEX($C:$C,n)` as text. The fast path is in formulas of its own, so a
    clean log still scores there; in the previous version both shared one IF and nothing computed."""
    total = FORM_AT.total_row - 1
    shown = gnumeric(scored_demo_copy, tmp_path / "now")
    engine = score_workbook(scored_demo_copy, dry_run=True).results
    assert shown[FORM][total][9] == f"{engine.total.normalize():f}" == "93.9"
    assert [row[3] for row in shown[SUMMARY][3:25]] == [f"{i.amount.normalize():f}" for i in engine.items]
    assert shown[FORM][total][10] == "各分块得分合计 92.90，加分 1.00"
    before = gnumeric(EARLIER, tmp_path / "before")
    assert before[FORM][total][9] != "79.19"  # the test can tell: the old layout does not compute there
