"""The Excel side, run through an in-memory stand-in of xlwings' Book (Excel cannot run here):
the adapter passes the same suite as the file adapter, the buttons write what the CLI writes,
the UDFs compute from the same engine, and the ribbon's pieces fit together."""
from __future__ import annotations

import io
import re
import shutil
import zipfile
from datetime import date, datetime
from decimal import Decimal
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from fake_xlwings import FakeApp, FakeBook, FakeSheet, address, com_error, parse
from test_end_to_end import rows as log_rows
from xlpipeline.workbook.book import FileBook
from xlpipeline.errors import FileProblem, UserError
from xlpipeline.excel import entry, functions, udfs
from xlpipeline.excel.adapter import MARK_COLOUR, ExcelBook
from xlpipeline.excel.addin import UI_PART, UI_REL, add_custom_ui
from xlpipeline.workbook.layout import FORM, LEDGER, SUMMARY
from xlpipeline.workbook.live import LIVE
from xlpipeline.mail.outbox import OUTBOX_NAME, Outbox
from xlpipeline.scoring.ledger import read_book
from xlpipeline.pipeline import plan_scores, score_workbook
from xlpipeline.resources import CUSTOM_UI, DEMO_WORKBOOK, RIBBON_VBA
from xlpipeline.ooxml.patch import PatchError

CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2009/07/customui"


@pytest.fixture
def demo(tmp_path):
    path = tmp_path / "考评.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, path)
    return path


@pytest.fixture(params=["file", "excel"])
def any_book(request, demo):
    """The same workbook behind either adapter."""
    return FileBook(demo) if request.param == "file" else ExcelBook(FakeBook.from_xlsx(demo))


# --- one adapter suite, two adapters ---------------------------------------------------------

def test_reads_the_demo_log(any_book, demo):
    """Against what openpyxl sees in the file (an independent reader): every row, every field."""
    ws = load_workbook(demo)[LEDGER]
    expected = [(n, when.date(), code.split(" ")[0], count, modifier, note or "", reference or "", department or "")
                for n, (when, _, code, count, modifier, note, reference, department)
                in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2) if code]
    rules, params, cases = read_book(any_book)
    assert [tuple(c) for c in cases] == expected and len(expected) == 31
    assert (params.unit, params.year, params.satisfaction) == ("市散墙办", 2026, Decimal("93.5"))
    assert [r.place for r in params.ranks] == [7, 6]


def test_a_percent_formatted_satisfaction_reads_as_shown(any_book, demo):
    """The demo's 93.5 typed as 93.5% in Excel: stored 0.935 in a percent cell, read as 93.5 by both."""
    if isinstance(any_book, FileBook):
        wb = load_workbook(demo)
        wb["参数"]["B4"].value, wb["参数"]["B4"].number_format = 0.935, "0.00%"
        wb.save(demo)
    else:
        any_book.book.sheets["参数"].values[(4, 2)] = 0.935
        any_book.book.sheets["参数"].range("B4").number_format = "0.00%"
    assert read_book(any_book)[1].satisfaction == Decimal("93.5")


def test_writes_text_as_text_and_numbers_as_numbers(any_book):
    any_book.write({SUMMARY: {"F1": "=cmd|' /C calc'!A0", "G1": Decimal("1.50"), "H1": "普通文字"}})
    row = any_book.grids((SUMMARY,))[SUMMARY][0]
    assert row[5:8] == ["=cmd|' /C calc'!A0", 1.5, "普通文字"]


def test_refuses_to_overwrite_a_formula(any_book, demo):
    if isinstance(any_book, FileBook):
        wb = load_workbook(demo)
        wb[SUMMARY]["F1"] = "=1+1"
        wb.save(demo)
    else:
        any_book.book.sheets[SUMMARY].formulas[(1, 6)] = "=1+1"
    with pytest.raises(PatchError, match=re.escape(f"{SUMMARY}!F1: 是公式单元格")):
        any_book.write({SUMMARY: {"F1": Decimal(1)}})


@pytest.mark.parametrize("text", ["001", "1-2", "50%", "2026-03-01", "=1+1", "+86 1", "@x", "-3", "'引号", "普通"])
def test_text_stays_the_text_written(any_book, text):
    """Excel turns "001" into 1 and "1-2" into a date as it does typed input; text must stay text."""
    any_book.write({SUMMARY: {"F1": text}})
    assert any_book.grids((SUMMARY,))[SUMMARY][0][5] == text


def test_a_text_cell_that_reads_like_a_formula_is_not_one(demo):
    """A cell typed as '=x holds the text =x, and Excel's .formula says "=x" too: HasFormula decides."""
    fake = FakeBook.from_xlsx(demo)
    fake.sheets[SUMMARY].range("F1").value = "'=x"
    book = ExcelBook(fake)
    assert "F1" not in book.formulas((SUMMARY,))[SUMMARY]
    book.write({SUMMARY: {"F1": "新文字"}})  # not refused as a formula cell
    assert fake.sheets[SUMMARY].cell("F1") == "新文字"


def test_values_as_excel_returns_them(demo):
    """A formula cell reads as its value, an error as None, a currency cell as Decimal, and a
    one-cell sheet as a grid of one row."""
    fake = FakeBook.from_xlsx(demo)
    params, ledger = fake.sheets["参数"], fake.sheets[LEDGER]
    params.formulas[(4, 2)], params.cached[(4, 2)] = "=90+3.5", 93.5
    params.values.pop((4, 2), None)
    ledger.values[(2, 4)] = 3.0
    ledger.number_formats[(2, 4)] = "¥#,##0"
    ledger.errors.add((2, 6))
    rules, params_read, cases = read_book(ExcelBook(fake))
    assert params_read.satisfaction == Decimal("93.5")
    assert cases[0].count == 3 and cases[0].note == ""
    lone = FakeBook(demo.with_name("一格.xlsx"))
    lone.sheets = type(fake.sheets)([type(ledger)(lone, "表")])
    lone.sheets["表"].values[(1, 1)] = "唯一"
    assert ExcelBook(lone).grids(("表",)) == {"表": [["唯一"]]}


def test_writing_turns_screen_updating_and_calculation_off_and_back(demo):
    fake = FakeBook.from_xlsx(demo)
    fake.app.calculation = "semiautomatic"
    ExcelBook(fake).write({SUMMARY: {"F1": "甲", "G1": Decimal(1)}})
    assert set(fake.app.while_writing) == {(False, "manual")}
    assert (fake.app.screen_updating, fake.app.calculation) == (True, "semiautomatic")


def test_a_protected_sheet_is_a_message_naming_the_cell(demo, press):
    fake = FakeBook.from_xlsx(demo)
    fake.sheets[FORM].protected = True
    assert press(entry.recalculate, fake) is None
    title, text, _ = fake.app.alerts[-1]
    assert title == "模范机关考评：未完成" and f"{FORM}!" in text and "Excel 拒绝写入" in text
    assert "无法更改受保护的工作表上的单元格" in text
    assert (fake.app.screen_updating, fake.app.calculation) == (True, "automatic")


@pytest.mark.parametrize("case, expected", [
    ("unsaved", "还没有保存"), ("read-only", "以只读方式打开"), ("onedrive", "本机找不到它的同步文件夹"),
])
def test_a_workbook_the_buttons_cannot_use_is_a_message(demo, case, expected, press):
    fake = FakeBook.from_xlsx(demo)
    if case == "unsaved":
        fake.fullname = "工作簿1"
    elif case == "onedrive":  # xlwings raises where it cannot map the synced folder
        fake.web_address = "https://d.docs.live.net/0123456789abcdef/文档/考评.xlsx"
    else:
        fake.read_only = True
    assert press(entry.recalculate, fake) is None
    assert expected in fake.app.alerts[-1][1] and not any(s.written for s in fake.sheets)


def test_an_addin_button_means_the_active_workbook_of_its_own_excel(demo, tmp_path):
    mine, other = FakeApp(), FakeApp()
    addin = FakeBook(tmp_path / "xlpipeline.xlam", mine)
    assert mine.api.ActiveWorkbook is None  # an add-in is never the active workbook
    with pytest.raises(AttributeError):  # and xlwings' books.active wraps Excel's Nothing
        mine.books.active.fullname
    with pytest.raises(UserError, match="没有打开的工作簿"):
        entry.workbook_meant(addin)
    mine.api.ActiveProtectedViewWindow = object()
    with pytest.raises(UserError, match="受保护的视图"):
        entry.workbook_meant(addin)
    mine.api.ActiveProtectedViewWindow = None
    book = FakeBook.from_xlsx(demo, mine)
    mine.books.active = book
    FakeBook.from_xlsx(demo, other)  # the topmost Excel's book: not the one meant
    assert entry.workbook_meant(addin) is book
    plain = FakeBook.from_xlsx(demo, other)
    assert entry.workbook_meant(plain) is plain  # a button in the workbook itself


@pytest.fixture
def press(tmp_path, monkeypatch):
    """Press a ribbon button as Excel does: xlwings' Book.caller() is the add-in, and the button works
    on the active workbook of that Excel (here `book`)."""
    def run(button, book):
        addin = FakeBook(tmp_path / "xlpipeline.xlam", book.app)
        book.app.books.active = book
        monkeypatch.setattr(entry, "_caller", lambda: addin)
        return button()
    return run


def clicked_in(app: FakeApp, tmp_path, monkeypatch) -> FakeBook:
    """A ribbon click: xlwings' Book.caller() is the add-in, in the Excel instance `app`."""
    addin = FakeBook(tmp_path / "xlpipeline.xlam", app)
    monkeypatch.setattr(entry, "_caller", lambda: addin)
    return addin


def test_a_click_with_no_workbook_open_is_a_message(tmp_path, monkeypatch):
    """Issue 26, item 1: only the add-in is open (Excel's ActiveWorkbook is Nothing, which xlwings'
    books.active wraps instead of returning None): a message, never a traceback."""
    app = FakeApp()
    clicked_in(app, tmp_path, monkeypatch)
    for button in (entry.recalculate, entry.check_log, entry.make_submit, entry.send_to_assessors):
        assert button() is None
        assert app.alerts[-1][:2] == ("模范机关考评：未完成", "没有打开的工作簿：请先打开考评工作簿，再点按钮")
    app.api.ActiveProtectedViewWindow = object()
    assert entry.recalculate() is None and "受保护的视图" in app.alerts[-1][1]


def test_a_click_on_a_onedrive_workbook_xlwings_cannot_map_is_a_message(demo, tmp_path, monkeypatch):
    """Issue 26, item 2: xlwings' fullname raises for a web address it cannot map to a synced folder."""
    app = FakeApp()
    clicked_in(app, tmp_path, monkeypatch)
    book = FakeBook.from_xlsx(demo, app)
    app.books.active = book
    book.web_address = "https://contoso.sharepoint.com/sites/zhb/Shared Documents/考评.xlsx"
    assert entry.recalculate() is None
    assert "OneDrive/SharePoint" in app.alerts[-1][1] and "同步到本机" in app.alerts[-1][1]
    assert not any(s.written for s in book.sheets)
    book.web_address = None  # synced: xlwings gives the local path, and the click works
    assert entry.recalculate() is not None


def test_reinstalling_while_excel_holds_the_addin_says_to_close_excel(tmp_path, monkeypatch):
    """Issue 26, item 3: a running Excel holds the .xlam it loaded from XLSTART."""
    import fake_xlwings
    from xlpipeline.excel import addin
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setattr(addin, "_excel", lambda: None)
    monkeypatch.setattr(addin.shutil, "copyfile", fake_xlwings.copy_unless_held)
    built = tmp_path / "xlpipeline.xlam"
    built.write_bytes(b"new")
    installed = addin.install_addin(built)
    installed.write_bytes(b"old")
    monkeypatch.setattr(fake_xlwings, "HELD", {installed})
    with pytest.raises(UserError, match="请先关闭所有 Excel 窗口"):
        addin.install_addin(built)
    assert installed.read_bytes() == b"old"
    monkeypatch.setattr(fake_xlwings, "HELD", set())
    assert addin.install_addin(built).read_bytes() == b"new"


def test_missing_sheet(any_book):
    with pytest.raises(FileProblem, match="缺少工作表 “不存在”；工作簿中的工作表：“任务清单”"):
        any_book.grids(("不存在",))


# --- the buttons write what the CLI writes ---------------------------------------------------

def owned_values_after_cli(path) -> dict:
    copy = path.with_name("cli.xlsx")
    shutil.copyfile(path, copy)
    score_workbook(copy)
    wb = load_workbook(copy)
    cells = plan_scores(FileBook(copy)).edits  # what the CLI wrote (工作进度 included), as an application gets it
    return {(sheet, ref): (wb[sheet][ref].data_type == "f", wb[sheet][ref].value)
            for sheet, refs in cells.items() for ref in refs}


def same(cli_value, excel_value) -> bool:
    if isinstance(cli_value, datetime):  # a date: openpyxl reads a datetime, xlwings was given a date
        return cli_value.date() == (excel_value.date() if isinstance(excel_value, datetime) else excel_value)
    if isinstance(cli_value, (int, float)) or isinstance(excel_value, float):
        return Decimal(str(cli_value)).quantize(Decimal("0.01")) == Decimal(str(excel_value)).quantize(Decimal("0.01"))
    return (cli_value or None) == (excel_value or None)


def assert_excel_matches_cli(path, press):
    expected = owned_values_after_cli(path)
    fake = FakeBook.from_xlsx(path)
    assert press(entry.recalculate, fake) is not None, fake.app.alerts
    for (sheet, ref), (formula, value) in expected.items():
        got = fake.sheets[sheet].formulas.get(parse(ref)) if formula else fake.sheets[sheet].cell(ref)
        assert same(value, got), (sheet, ref, value, got)  # live formulas stay, values as the CLI wrote
    written = {(s.name, address(*cell)) for s in fake.sheets for cell in s.written}
    assert written == {cell for cell, (formula, _) in expected.items() if not formula}  # the same cells, no others
    cli_form = load_workbook(path.with_name("cli.xlsx"))[FORM]
    for row, height in fake.sheets[FORM].row_heights.items():
        assert height == pytest.approx(cli_form.row_dimensions[row].height or 15.0), row  # rows grown alike
    return fake


def test_recalculate_button_equals_the_cli_on_the_demo(demo, press):
    fake = assert_excel_matches_cli(demo, press)
    title, text, _ = fake.app.alerts[-1]
    assert title == "模范机关考评：已计算" and text.startswith("总分 79.19")


def test_an_earlier_versions_workbook_scores_without_rewriting_its_protected_sheet(tmp_path, press):
    """Excel opens 实时计分 protected: the button scores and says the formulas are old; rewriting
    them is left to a write of the file."""
    path = tmp_path / "旧.xlsx"
    shutil.copy(Path(__file__).parent / "earlier" / "演示_af4991e.xlsx", path)
    fake = FakeBook.from_xlsx(path)
    before = dict(fake.sheets[LIVE].formulas)
    assert press(entry.recalculate, fake) is not None
    title, text, _ = fake.app.alerts[-1]
    assert title == "模范机关考评：已计算" and "旧版本生成的" in text, text
    assert fake.sheets[LIVE].formulas == before


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(log_rows(), min_size=1, max_size=25), st.none() | st.integers(0, 100), st.none() | st.integers(1, 20))
def test_recalculate_button_equals_the_cli_on_random_logs(make_workbook, press, log, satisfaction, rank):
    assert_excel_matches_cli(make_workbook(log, satisfaction=satisfaction, rank=rank), press)


def test_check_log_marks_and_lists_the_problems(make_workbook, press):
    path = make_workbook([(date(2026, 3, 1), None, "9.D", 1), (date(2025, 3, 1), None, "9.X", 0)])
    fake = FakeBook.from_xlsx(path)
    problems = press(entry.check_log, fake)
    assert problems == ["扣分台账!A3: 日期 2025-03-01 不在考评年度 2026 年内", "扣分台账!C3: 情形代码“9.X”不存在（见“规则”表）",
                        "扣分台账!D3: 数量应为不小于 1 的整数，实际为“0”"]
    ledger = fake.sheets[LEDGER]
    assert {address(*cell) for cell, colour in ledger.colors.items() if colour == MARK_COLOUR} == {"A3", "C3", "D3"}
    assert fake.selection == (LEDGER, "A3,C3,D3") and fake.active_sheet == LEDGER
    assert "台账有 3 处问题" in fake.app.alerts[-1][0]


def test_a_mistake_becomes_a_message_not_a_traceback(make_workbook, press):
    fake = FakeBook.from_xlsx(make_workbook([(date(2026, 3, 1), None, "9.X", 1)]))
    assert press(entry.recalculate, fake) is None
    title, text, _ = fake.app.alerts[-1]
    assert title == "模范机关考评：未完成" and "扣分台账!C2" in text
    assert not fake.sheets[FORM].written


def test_submit_and_batch_buttons(demo, press):
    """The buttons write beside the workbook what the commands write, with the demo's figures."""
    fake = FakeBook.from_xlsx(demo)
    output = press(entry.make_submit, fake)
    assert output.path == demo.parent / "附件1_市散墙办_2026年创建模范机关自评.xlsx"
    assert str(output.path.name) in fake.app.alerts[-1][1]
    form = CalamineWorkbook.from_path(str(output.path)).get_sheet_by_name("附件1").to_python()
    assert [row[8:10] for row in form if row[0] == "合计"] == [[22.31, 79.19]]
    outputs = press(entry.make_batch_by_leader, fake)
    assert [(o.group, o.path.name, o.deduction) for o in outputs] == [
        ("郭伦旭", "附件1_市散墙办_2026年_郭伦旭.xlsx", Decimal("8.11")),
        ("蒋进", "附件1_市散墙办_2026年_蒋进.xlsx", Decimal("14.20"))]
    assert "已生成 2 个文件" in fake.app.alerts[-1][1]
    departments = press(entry.make_batch_by_department, fake)  # the 责任科室 each case is logged under
    assert [(o.group, o.items) for o in departments] == [
        ("综合科", [1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 15, 22]), ("督查科", [9, 18, 19]), ("执法科", [9, 12, 20]),
        ("办公室", [11])]
    for o, expected in zip(outputs, ([8.11, 43.89], [14.2, 51.19])):
        form = CalamineWorkbook.from_path(str(o.path)).get_sheet_by_name("附件1").to_python()
        assert [row[8:10] for row in form if row[0] == "小计"] == [expected], o.group


def test_send_button_previews_first(demo, server, press):
    fake = FakeBook.from_xlsx(demo, FakeApp(answers=["cancel"]))
    press(entry.send_to_assessors, fake)
    assert "将发送" in fake.app.alerts[0][1] and fake.app.alerts[0][2] == "ok_cancel"
    assert not server.received
    fake = FakeBook.from_xlsx(demo, FakeApp(answers=["ok", "ok"]))
    press(entry.send_to_assessors, fake)
    assert len(server.received) == 7 and "已发送" in fake.app.alerts[-1][1]


def test_send_button_says_what_is_left_and_waits_its_turn(demo, server, press):
    server.refuse = {"xcb@example.com"}
    fake = FakeBook.from_xlsx(demo, FakeApp(answers=["ok", "ok"]))
    press(entry.send_to_assessors, fake)
    assert "1 封邮件未发出（市委宣传部）" in fake.app.alerts[-1][1]
    assert "再点一次“发送考评单位”即可重发" in fake.app.alerts[-1][1] and "xlpipeline send" not in fake.app.alerts[-1][1]
    busy = Outbox(demo.parent / OUTBOX_NAME)  # another run is sending from this folder
    try:
        fake = FakeBook.from_xlsx(demo, FakeApp(answers=["ok", "ok"]))
        press(entry.send_to_assessors, fake)
    finally:
        busy.close()
    assert "另一个发送任务正在使用这个文件夹的发件记录" in fake.app.alerts[-1][1]
    assert len(server.received) == 6


# --- UDFs --------------------------------------------------------------------------------------

class Caller:
    """What xlwings hands a UDF as `caller` (an xlwings Range: `.sheet.book`)."""

    def __init__(self, book):
        self.sheet = type("S", (), {"book": book})()


@pytest.fixture
def caller(demo):
    functions.CACHE.entries.clear()
    return Caller(FakeBook.from_xlsx(demo))


# the demo's block scores, and the items of each block as 附件1 groups them (literals, not the rules data)
DEMO_BLOCKS = {(1, 2): 7.0, (3,): 9.5, (4, 5): 11.5, (6, 7, 8, 9): 9.8, (10,): 4.5,
               (11, 12, 13, 14, 15, 16, 17): 15.89, (18, 19, 20, 21, 22): 19.5}


@pytest.mark.parametrize("item", range(1, 23))
def test_xlp_score_is_the_items_own_block(caller, item):
    (expected,) = [score for items, score in DEMO_BLOCKS.items() if item in items]
    assert udfs.XLP_SCORE(item, caller) == pytest.approx(expected)


def test_udfs_compute_from_the_engine(caller):
    assert udfs.XLP_SCORE(1, caller) == 7.0 and udfs.XLP_SCORE(11.0, caller) == pytest.approx(15.89)
    assert udfs.XLP_DEDUCTION(17, caller) == pytest.approx(1.11) and udfs.XLP_DEDUCTION(22, caller) == 1.5
    assert udfs.XLP_TOTAL(caller) == pytest.approx(79.19)
    assert udfs.XLP_EXPLAIN(21, caller) == ("全省排名（上级主管部门考核指标）：第 7 名；全省排名（单位职能业务综合指标）：第 6 名。"
                                            "前 5 名不扣分，每后退 1 名扣 0.50 分，扣 1.50 分")
    assert udfs.XLP_CODE_POINTS("9.D", caller) == pytest.approx(0.1)
    assert udfs.XLP_CODE_POINTS("12.A 干部被立案查处免于处分", caller) == 0.5


@pytest.mark.parametrize("call, expected", [
    (lambda c: udfs.XLP_SCORE(23, c), "#VALUE!：序号应为 1–22 的整数，实际为“23”"),
    (lambda c: udfs.XLP_DEDUCTION("一", c), "#VALUE!：序号应为 1–22 的整数，实际为“一”"),
    (lambda c: udfs.XLP_EXPLAIN(2.5, c), "#VALUE!：序号应为 1–22 的整数，实际为“2.5”"),
    (lambda c: udfs.XLP_CODE_POINTS("9.X", c), "#N/A：情形代码“9.X”不存在"),
    (lambda c: udfs.XLP_CODE_POINTS(None, c), "#N/A：情形代码“”不存在"),
])
def test_udf_bad_arguments(caller, call, expected):
    assert call(caller) == expected


def test_udf_on_a_log_with_mistakes(make_workbook):
    functions.CACHE.entries.clear()
    caller = Caller(FakeBook.from_xlsx(make_workbook([(date(2026, 3, 1), None, "9.X", 1)])))
    assert udfs.XLP_TOTAL(caller).startswith("#VALUE!：工作簿有 1 处输入错误（请点“校验台账”）：扣分台账!C2")


class CountingBook(ExcelBook):
    reads = 0

    def grids(self, names):
        CountingBook.reads += 1
        return super().grids(names)


def test_the_log_is_read_once_per_recalculation(demo, monkeypatch):
    clock = [100.0]
    cache = functions.LogCache(clock=lambda: clock[0])
    monkeypatch.setattr(functions, "CACHE", cache)
    fake = FakeBook.from_xlsx(demo)
    book = CountingBook(fake)
    CountingBook.reads = 0
    for item in range(1, 1001):
        functions.deduction(book, 1 + item % 21)
    assert CountingBook.reads == 1
    first = cache.entries[str(book.path)]
    clock[0] += functions.FRESH_SECONDS + 1      # next recalculation, log unchanged: read, not rescored
    assert functions.total(book) == pytest.approx(79.19)
    assert CountingBook.reads == 2 and cache.entries[str(book.path)] is first
    fake.sheets[LEDGER].values[(2, 4)] = 3.0     # the log changes: the first 2.A now × 3
    clock[0] += functions.FRESH_SECONDS + 1
    assert functions.deduction(book, 2) == pytest.approx(4.5)  # 3 + 1 + 0.5
    assert cache.entries[str(book.path)] is not first


# --- the ribbon ------------------------------------------------------------------------------------

def test_custom_ui_is_well_formed_with_the_2009_namespace():
    root = etree.fromstring(CUSTOM_UI.read_bytes())
    assert etree.QName(root).namespace == CUSTOM_UI_NS
    tab = root.find(f".//{{{CUSTOM_UI_NS}}}tab")
    assert tab.get("label") == "模范机关考评"
    buttons = list(root.iter(f"{{{CUSTOM_UI_NS}}}button"))
    assert {b.get("label") for b in buttons} >= {"重新计算", "校验台账", "生成附件", "发送考评单位", "按考评单位"}
    assert all(b.get("imageMso") for b in buttons)
    assert all(b.get("screentip") for b in buttons if b.get("size") == "large")


def test_every_action_has_its_vba_callback_and_python_target():
    root = etree.fromstring(CUSTOM_UI.read_bytes())
    actions = {e.get("onAction") for e in root.iter() if e.get("onAction")}
    vba = RIBBON_VBA.read_text(encoding="ascii")
    subs = dict(re.findall(r'Sub (\w+)\(control As IRibbonControl\)\s+RunPython "([^"]+)"', vba))
    assert actions == set(subs)
    for statement in subs.values():
        module, call = re.fullmatch(r"import ([\w.]+) as e; e\.(\w+)\(\)", statement).groups()
        assert callable(getattr(import_module(module), call)), statement


def test_add_custom_ui_to_an_xlsm(tmp_path):
    from corpus import decorated
    source = decorated(tmp_path / "宏.xlsm", vba=b"\xd0\xcf\x11\xe0 vba bytes")
    out = io.BytesIO()
    with open(source, "rb") as f:
        add_custom_ui(f, out, CUSTOM_UI.read_bytes())
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(io.BytesIO(out.getvalue())) as after:
        assert after.read(UI_PART) == CUSTOM_UI.read_bytes()
        rels = etree.fromstring(after.read("_rels/.rels"))
        assert [r.get("Target") for r in rels if r.get("Type") == UI_REL] == [UI_PART]
        for name in before.namelist():
            if name != "_rels/.rels":
                assert after.read(name) == before.read(name), name
    again = io.BytesIO()
    add_custom_ui(io.BytesIO(out.getvalue()), again, CUSTOM_UI.read_bytes().replace(b"xlpTab", b"xlpTab2"))
    with zipfile.ZipFile(io.BytesIO(again.getvalue())) as z:
        assert b"xlpTab2" in z.read(UI_PART)
        assert sum(1 for r in etree.fromstring(z.read("_rels/.rels")) if r.get("Type") == UI_REL) == 1
    assert load_workbook(io.BytesIO(again.getvalue()), keep_vba=True).sheetnames[0] == "数据"


def test_addin_commands_explain_that_excel_is_needed(cli):
    for args in (("addin", "build"), ("addin", "install")):
        status, _, err = cli(*args)
        assert status == 2 and err.strip().startswith("需要 Windows 上的 Microsoft Excel") and len(err.splitlines()) == 1


# --- building and installing the add-in, through a stand-in of xlwings' App (issue 13, items 1, 2, 6) ---

class FakeXlwings:
    """The xlwings module as build_addin uses it: App, books.add(), the VBA project, SaveAs, udfs."""

    def __init__(self, folder, with_vba=True, bas: str | None = None):
        import xlwings  # the installed one: its version and its VBA module are what a build meets
        self.__file__ = str(folder / "xlwings" / "__init__.py")
        self.__version__ = xlwings.__version__
        if with_vba:
            (folder / "xlwings" / "addin").mkdir(parents=True)
            real = (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="utf-8", errors="replace")
            (folder / "xlwings" / "xlwings.bas").write_text(bas or real, encoding="utf-8")
            (folder / "xlwings" / "addin" / "Dictionary.cls").write_text("VERSION 1.0 CLASS\n")
        self.python = folder / "Python" / "Scripts" / "pythonw.exe"  # a venv's: the DLL lies one folder up
        self.python.parent.mkdir(parents=True)
        self.python.write_bytes(b"MZ")
        (folder / "Python" / f"xlwings64-{xlwings.__version__}.dll").write_bytes(b"MZ")
        self.log: list = []
        self.trusted = True
        self.udfs = SimpleNamespace(import_udfs=lambda names, workbook: self.log.append(("import_udfs", names, workbook)))
        self.plain = folder / "plain.xlsx"
        from openpyxl import Workbook
        Workbook().save(self.plain)

    def App(self, visible, add_book):  # noqa: N802 (xlwings' name)
        xw = self

        class Api:
            @property
            def VBProject(self):  # noqa: N802 (Excel's name)
                if not xw.trusted:  # 信任中心: access to the VBA project object model not trusted
                    raise com_error(-2146827284, "不信任到 Visual Basic Project 的程序连接")
                return SimpleNamespace(VBComponents=SimpleNamespace(Import=lambda p: xw.log.append(("import", p))))

            def SaveAs(self, path, FileFormat):  # noqa: N802, N803
                xw.log.append(("save", path, FileFormat, app.display_alerts))
                if Path(path).exists() and app.display_alerts:
                    raise AssertionError("Excel would ask whether to replace it, in a dialog nobody sees")
                shutil.copyfile(xw.plain, path)  # with alerts off, Excel replaces the file without asking

        conf = FakeSheet(FakeBook(xw.plain), "Sheet1")
        book = SimpleNamespace(api=Api(), sheets=[conf], close=lambda: xw.log.append("close"))
        app = SimpleNamespace(display_alerts=True, books=SimpleNamespace(add=lambda: book),
                              quit=lambda: xw.log.append("quit"))
        self.conf, self.book_api = conf, book.api
        return app


def test_the_addin_carries_its_functions_settings_and_ribbon(tmp_path):
    from xlpipeline.excel.addin import UDF_MODULE, build_addin
    xw = FakeXlwings(tmp_path)
    out = tmp_path / "out" / "xlpipeline.xlam"
    out.parent.mkdir()
    out.with_suffix(".tmp.xlam").write_bytes(b"stale")  # left by a build that was killed
    assert build_addin(out, xw, xw.python) == out
    imported = [Path(p).name for kind, p in (e for e in xw.log if isinstance(e, tuple) and e[0] == "import")]
    assert imported == ["xlwings.bas", "Dictionary.cls", RIBBON_VBA.name]
    (udfs,) = [e for e in xw.log if isinstance(e, tuple) and e[0] == "import_udfs"]
    assert udfs[1] == UDF_MODULE and udfs[2] is xw.book_api  # the wrappers go into the add-in itself
    save = next(e for e in xw.log if isinstance(e, tuple) and e[0] == "save")
    assert save[2] == 55 and save[3] is False  # an .xlam, with Excel's alerts off
    assert xw.log[-1] == "quit" and not out.with_suffix(".tmp.xlam").exists()
    assert xw.conf.name == "xlwings.conf"
    written = {xw.conf.cell(f"A{r}"): xw.conf.cell(f"B{r}") for r in range(1, 60) if xw.conf.cell(f"A{r}")}
    import xlwings  # every key the installed xlwings' VBA reads, found here independently of our code
    vba = (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="utf-8", errors="replace")
    keys = {k.upper() for k in re.findall(r'GetConfig\("([^"]+)"', vba)}
    assert keys >= {"SHOW_ERROR_POPUPS", "TEMP DIR", "LICENSE_KEY", "ONEDRIVE_CONSUMER_WIN", "SHAREPOINT_WIN"}
    assert set(written) == keys and written["UDF MODULES"] == UDF_MODULE
    assert written["SHOW_ERROR_POPUPS"] == "True" and written["TEMP DIR"] == "%TEMP%"
    assert written["INTERPRETER_WIN"] == str(xw.python)
    rows = [xw.conf.cell(f"A{r}") for r in range(1, len(keys) + 2)]
    assert all(rows[:-1]) and not rows[-1]  # one block from A1 down: xlwings reads to the first blank
    with zipfile.ZipFile(out) as z:
        assert UI_PART in z.namelist()
    assert out.name.isascii()


def test_a_missing_xlwings_vba_module_fails_the_build(tmp_path):
    from xlpipeline.excel.addin import build_addin
    xw = FakeXlwings(tmp_path, with_vba=False)
    with pytest.raises(UserError, match="找不到 .*xlwings.bas：请重新安装 xlwings"):
        build_addin(tmp_path / "xlpipeline.xlam", xw)
    assert not xw.log  # Excel was not even started


def test_a_vba_project_excel_does_not_trust_is_a_message(tmp_path):
    from xlpipeline.excel.addin import build_addin
    xw = FakeXlwings(tmp_path)
    xw.trusted = False
    with pytest.raises(UserError, match="信任对 VBA 工程对象模型的访问"):
        build_addin(tmp_path / "xlpipeline.xlam", xw, xw.python)
    assert xw.log[-1] == "quit"  # the hidden Excel is not left running


def test_a_setting_we_do_not_know_fails_the_build(tmp_path):
    """Issue 26, item 4: a later xlwings whose VBA reads a key we set no value for."""
    from xlpipeline.excel.addin import build_addin
    xw = FakeXlwings(tmp_path, bas='x = GetConfig("INTERPRETER_WIN", "")\ny = GetConfig("NEW_SETTING_2027")\n')
    with pytest.raises(UserError, match="不认识的设置 NEW_SETTING_2027"):
        build_addin(tmp_path / "xlpipeline.xlam", xw, xw.python)
    assert not xw.log  # Excel was not even started


def test_the_dll_must_be_where_the_vba_looks(tmp_path):
    """Issue 26, item 5: xlwings' VBA loads its DLL from beside INTERPRETER_WIN or one folder up."""
    from xlpipeline.excel.addin import build_addin
    xw = FakeXlwings(tmp_path)
    user_site = tmp_path / "AppData" / "Roaming" / "Python" / "Python311" / "Scripts" / "pythonw.exe"
    user_site.parent.mkdir(parents=True)
    with pytest.raises(UserError, match=r"找不到 xlwings 的 xlwings64-.*\.dll.*不要加 --user"):
        build_addin(tmp_path / "xlpipeline.xlam", xw, user_site)
    assert not xw.log
    beside = tmp_path / "Python311" / "pythonw.exe"  # a standard installation: the DLL beside python
    beside.parent.mkdir()
    (beside.parent / f"xlwings64-{xw.__version__}.dll").write_bytes(b"MZ")
    assert build_addin(tmp_path / "xlpipeline.xlam", xw, beside).exists()


def test_an_unsupported_xlwings_is_refused_at_build(tmp_path):
    import tomllib
    from xlpipeline.excel.addin import SUPPORTED, build_addin
    pinned = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    (a, b), (c, d) = SUPPORTED
    assert pinned["optional-dependencies"]["excel"] == [f"xlwings>={a}.{b},<{c}.{d}"]  # one range, said twice
    xw = FakeXlwings(tmp_path)
    xw.__version__ = f"{c}.{d}.0"
    with pytest.raises(UserError, match=f"支持 xlwings>={a}.{b},<{c}.{d}，已安装的是 {c}.{d}.0"):
        build_addin(tmp_path / "xlpipeline.xlam", xw, xw.python)


def test_install_puts_the_addin_in_xlstart(tmp_path, monkeypatch):
    from xlpipeline.excel import addin
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setattr(addin, "_excel", lambda: None)
    built = tmp_path / "xlpipeline.xlam"
    built.write_bytes(b"xlam")
    target = addin.install_addin(built)
    assert target == tmp_path / "AppData" / "Microsoft" / "Excel" / "XLSTART" / "xlpipeline.xlam"
    assert target.read_bytes() == b"xlam"


def test_formatted_empty_cells_are_not_read(demo):
    """A column formatted down to row 1048576 makes Excel's used range that tall: reads stop at
    the last cell holding something."""
    fake = FakeBook.from_xlsx(demo)
    fake.sheets[LEDGER].number_formats[(1048576, 3)] = "@"
    assert fake.sheets[LEDGER].used_range.last_cell.row == 1048576
    grid = ExcelBook(fake).grids((LEDGER,))[LEDGER]
    assert len(grid) == max(r for (r, _), v in fake.sheets[LEDGER].values.items() if v not in (None, ""))
