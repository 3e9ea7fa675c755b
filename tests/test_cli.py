"""The command line: init, score --json / --dry-run, template build, demo, help."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from xlpipeline.workbook.layout import (ADDRESS_BOOK, CALENDAR, DEPARTMENTS, FORM, LEDGER, LEDGER_COLUMNS, PARAMS,
                                       PROGRESS, RULES, SUMMARY)
from xlpipeline.workbook.live import LIVE
from xlpipeline.resources import TEMPLATE


def test_init_creates_the_working_workbook(cli, tmp_path):
    path = tmp_path / "新.xlsx"
    status, out, err = cli("init", path, "--year", "2026", "--unit", "测试办")
    assert status == 0, err
    wb = load_workbook(path)
    assert wb.sheetnames == [FORM, LEDGER, PARAMS, RULES, SUMMARY, ADDRESS_BOOK, LIVE, CALENDAR, DEPARTMENTS,
                             PROGRESS]
    book = wb[ADDRESS_BOOK]
    assert [c.value for c in book[1]] == ["考评单位", "收件人", "邮箱", "抄送", "不发送"]
    assert [book.cell(r, 1).value for r in range(2, 9)] == ["市委办", "市政府办", "市委组织部", "市委宣传部",
                                                            "市直机关工委", "市纪委市监委", "市委政法委"]
    ledger = wb[LEDGER]
    assert tuple(c.value for c in ledger[1]) == LEDGER_COLUMNS
    assert ledger.freeze_panes == "A2"
    validations = {str(dv.sqref).split(":")[0]: dv for dv in ledger.data_validations.dataValidation}
    assert validations["C2"].type == "list" and validations["C2"].formula1 == "'规则'!$A$2:$A$63"
    assert validations["D2"].type == "whole" and validations["D2"].formula1 == "1"
    assert validations["A2"].formula1 == "DATE(2026,1,1)" and validations["A2"].formula2 == "DATE(2026,12,31)"
    assert validations["E2"].formula1 == "'规则'!$A$66:$A$68"
    rules_sheet = wb[RULES]
    assert rules_sheet["A2"].value == "1.A 中央通报问责 / 重大负面影响"
    assert [rules_sheet[f"A{r}"].value for r in range(66, 69)] == ["非市管干部", "主动查处", "办公厅名义"]
    params = {wb[PARAMS].cell(r, 1).value: wb[PARAMS].cell(r, 2).value for r in range(2, 7)}
    assert params == {"单位名称": "测试办", "考评年度": 2026, "满意度测评(%)": None,
                      "全省排名（上级主管部门考核指标）": None, "全省排名（单位职能业务综合指标）": None}
    assert wb[FORM]["K4"].value is None and wb[FORM]["I4"].value.startswith(f"='{LIVE}'!")
    red = [(str(cf.sqref), cf.rules[0].formula) for cf in wb[FORM].conditional_formatting]
    assert red == [("I4:I24", ["AND(ISNUMBER(I4),I4>0)"])]  # deductions of items 1–21 show red


def test_the_log_centres_its_numbers(cli, tmp_path, to_pdf):
    """指标序号 and 数量 are centred (issue 25, item 6): printed right-aligned, 12 ran into 12.B."""
    path = tmp_path / "新.xlsx"
    assert cli("init", path)[0] == 0
    ledger = load_workbook(path)[LEDGER]
    assert [ledger.column_dimensions[c].alignment.horizontal for c in "BCD"] == ["center", None, "center"]
    ledger.append([date(2026, 3, 1), 12, "12.B", 1])
    for column in "BD":  # what Excel and LibreOffice give a cell typed into the column
        ledger[f"{column}2"].alignment = copy.copy(ledger.column_dimensions[column].alignment)
    ledger.parent.save(path)
    text = subprocess.run(["pdftotext", "-layout", str(to_pdf(path)), "-"], capture_output=True, text=True).stdout
    assert "1212.B" not in text and re.search(r"12\s+12\.B", text)


def test_init_never_overwrites_without_force(cli, tmp_path):
    path = tmp_path / "已有.xlsx"
    path.write_bytes(b"keep me")
    status, _, err = cli("init", path)
    assert status == 2 and "已存在" in err and path.read_bytes() == b"keep me"
    (tmp_path / "~$已有.xlsx").write_text("Excel 正打开着")
    status, _, err = cli("init", path, "--force")
    assert status == 2 and "正在 Excel 或 WPS 中打开" in err and path.read_bytes() == b"keep me"
    (tmp_path / "~$已有.xlsx").unlink()
    status, _, err = cli("init", path, "--force")
    assert status == 0, err
    assert load_workbook(path).sheetnames[0] == FORM
    (backup,) = (tmp_path / ".xlpipeline-backup").iterdir()
    assert backup.read_bytes() == b"keep me"  # what --force replaced is kept


def test_init_unknown_year(cli, tmp_path):
    status, _, err = cli("init", tmp_path / "x.xlsx", "--year", "2031")
    assert status == 2 and "没有 2031 年度的规则数据" in err


def test_score_json_then_write(cli, make_workbook):
    path = make_workbook([(date(2026, 2, 1), None, "19.A", 2)], satisfaction=100, rank=(5, 1))
    status, out, err = cli("score", path, "--json")
    assert status == 0, err
    data = json.loads(out)
    assert data["total"] == "96.00" and data["items"][18] == {"no": 19, "deduction": "4.00"}
    assert [w for w in data["warnings"] if not w.startswith("工作日历中有")] == []  # its calendar: untouched
    assert "已写入" in err  # with --json, stdout holds only the JSON
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(FORM).to_python()
    assert rows[21][8] == 4.0


def test_score_text_summary_and_warnings(cli, make_workbook):
    status, out, _ = cli("score", make_workbook(), "--dry-run")
    assert status == 0
    assert "总分 100.00" in out
    assert "提示：第17项：满意度测评未填写，暂不扣分" in out and "已写入" not in out
    assert out.strip().endswith("试运行：没有写入任何文件")


def test_template_build_matches_the_committed_template(cli, tmp_path):
    out = tmp_path / "t.xlsx"
    status, _, err = cli("template", "build", "--out", out)
    assert status == 0, err
    built, committed = load_workbook(out), load_workbook(TEMPLATE)
    assert built.sheetnames == committed.sheetnames == ["附件1", "扣分明细"]
    for name in built.sheetnames:
        assert [[c.value for c in row] for row in built[name].iter_rows()] == \
            [[c.value for c in row] for row in committed[name].iter_rows()]
        assert sorted(map(str, built[name].merged_cells.ranges)) == sorted(map(str, committed[name].merged_cells.ranges))


def test_rollup_template_build_matches_the_committed_template(cli, tmp_path, monkeypatch):
    from xlpipeline.resources import ROLLUP_TEMPLATE
    monkeypatch.chdir(tmp_path)
    status, out, err = cli("template", "build", "--rollup")
    assert status == 0, err
    assert f"collect 默认使用自带的模板；要用这个模板，请加 --template {ROLLUP_TEMPLATE.name}" in out
    built, committed = load_workbook(tmp_path / ROLLUP_TEMPLATE.name), load_workbook(ROLLUP_TEMPLATE)
    assert built.sheetnames == committed.sheetnames == ["汇总", "单项统计", "图表", "问题清单"]
    for name in built.sheetnames:
        assert [[c.value for c in row] for row in built[name].iter_rows()] == \
            [[c.value for c in row] for row in committed[name].iter_rows()]
    assert len(built["图表"]._charts) == 2
    with zipfile.ZipFile(tmp_path / ROLLUP_TEMPLATE.name) as new, zipfile.ZipFile(ROLLUP_TEMPLATE) as old:
        parts = sorted(n for n in old.namelist() if n != "docProps/core.xml")  # all but the build's date
        assert sorted(n for n in new.namelist() if n != "docProps/core.xml") == parts
        assert [n for n in parts if new.read(n) != old.read(n)] == []  # page setup and chart axes too
    assert cli("template", "build", "--rollup")[0] == 2  # not over an existing file without --force


def test_template_build_writes_where_told_and_says_how_to_use_it(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = cli("template", "build")
    assert status == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [TEMPLATE.name]  # here, no templates/ folder
    assert f"--template {TEMPLATE.name}" in out
    restyled = (tmp_path / TEMPLATE.name).read_bytes()
    status, _, err = cli("template", "build")
    assert status == 2 and "已存在" in err and (tmp_path / TEMPLATE.name).read_bytes() == restyled
    status, _, err = cli("template", "build", "--force")
    assert status == 0, err
    (backup,) = (tmp_path / ".xlpipeline-backup").iterdir()
    assert backup.read_bytes() == restyled
    assert oct((tmp_path / TEMPLATE.name).stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_template_look():
    ws = load_workbook(TEMPLATE)["附件1"]
    assert ws["A2"].value == "{{ title }}" and ws["A2"].font.name == "方正小标宋简体"
    assert [c.value for c in ws[4]] == ["序号", "考评指标", "考评办法", "分值", "考评单位", "应完成的工作",
                                        "责任科室", "责任领导", "扣分", "得分", "扣分说明"]
    assert ws["A4"].font.name == "黑体" and ws["C5"].font.name == "仿宋_GB2312"
    assert ws["A5"].value.startswith("{%row for item in items %}")
    assert ws.print_title_rows == "$4:$4"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0 and "&P" in ws.oddFooter.center.text


def demo_figures(path) -> list:
    """What a reader that does not calculate shows: 合计 扣分/得分/说明 and 得分汇总's total."""
    book = CalamineWorkbook.from_path(str(path))
    form, summary = book.get_sheet_by_name(FORM).to_python(), book.get_sheet_by_name(SUMMARY).to_python()
    return form[25][8:11] + [summary[36][3]]


DEMO_FIGURES = [22.31, 79.19, "各分块得分合计 77.69，加分 1.50", 79.19]


def test_demo_command(cli, tmp_path):
    out = tmp_path / "演示.xlsx"
    status, stdout, err = cli("demo", "--out", out)
    assert status == 0, err
    assert "总分 79.19" in stdout and "备份" not in stdout
    assert demo_figures(out) == DEMO_FIGURES  # a scored copy, figures cached for any reader
    assert not (tmp_path / ".xlpipeline-backup").exists()
    status, _, err = cli("demo", "--out", out)
    assert status == 2 and "已存在" in err


def test_demo_force_replaces_a_file_and_keeps_it(cli, tmp_path):
    out = tmp_path / "演示.xlsx"
    out.write_bytes(b"the user's own file")
    status, _, err = cli("demo", "--out", out)
    assert status == 2 and out.read_bytes() == b"the user's own file"
    status, stdout, err = cli("demo", "--out", out, "--force")
    assert status == 0, err
    assert demo_figures(out) == DEMO_FIGURES
    (backup,) = (tmp_path / ".xlpipeline-backup").iterdir()
    assert backup.read_bytes() == b"the user's own file" and "原文件备份" in stdout


@pytest.mark.parametrize("args, message", [
    ((), "xlpipeline: 参数错误：缺少必需的参数：命令"),
    (("score",), "xlpipeline score: 参数错误：缺少必需的参数：工作簿"),
    (("scor", "x.xlsx"), "xlpipeline: 参数错误：参数 命令 的值 'scor' 无效，可选：'init', 'score'"),
    (("score", "x.xlsx", "--bogus"), "xlpipeline: 参数错误：无法识别的参数：--bogus"),
    (("init", "x.xlsx", "--year", "明年"), "xlpipeline init: 参数错误：参数 --year 的值 '明年' 无效，应为整数"),
    (("batch", "x.xlsx", "--by", "科室"), "xlpipeline batch: 参数错误：参数 --by 的值 '科室' 无效，可选：'责任科室'"),
    (("send", "x.xlsx", "--round"), "xlpipeline send: 参数错误：参数 --round 后面需要一个值"),
    (("template",), "xlpipeline template: 参数错误：缺少必需的参数：子命令"),
])
def test_usage_errors_are_chinese(cli, args, message):
    status, out, err = cli(*args)
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("用法: xlpipeline") and lines[-1].startswith(message), lines[-1]
    assert not re.search(r"\b(argument|required|invalid|choose|expected|unrecognized|usage|error)\b", err, re.I)


def test_help_is_chinese(cli):
    status, out, _ = cli("--help")
    assert status == 0 and out.startswith("用法: xlpipeline") and "新建工作簿" in out and "显示帮助并退出" in out
    status, _, err = cli("score")
    assert status == 2 and "参数错误" in err


def test_decimal_exactness_end_to_end(cli, make_workbook):
    path = make_workbook([(date(2026, 2, 1), None, "9.D", 1, None, "", "", ""),
                          (date(2026, 2, 2), None, "9.D", 1), (date(2026, 2, 3), None, "9.D", 1)])
    status, out, _ = cli("score", path, "--json")
    assert json.loads(out)["items"][8]["deduction"] == "0.30"
    assert Decimal(json.loads(out)["total"]) == Decimal("99.70")


def test_a_bug_is_one_line_and_a_log(cli, make_workbook, monkeypatch):
    """An unexpected exception is not a user mistake: its own exit code, no traceback on screen."""
    import xlpipeline.pipeline

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(xlpipeline.pipeline, "score_workbook", broken)
    status, out, err = cli("score", make_workbook())
    assert status == 4 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("程序内部错误") and "Traceback" not in err
    log = Path(re.search(r"已写入 (\S+?)，", line)[1])
    text = log.read_text(encoding="utf-8")
    log.unlink()
    assert "Traceback" in text and "ZeroDivisionError: a bug" in text
