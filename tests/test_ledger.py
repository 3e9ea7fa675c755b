"""Bad input in the working workbook: a Chinese `sheet!cell: message`, exit 1 or 2, nothing written."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from xlpipeline.workbook.layout import LEDGER, PARAM_RANKS, PARAM_SATISFACTION, PARAM_YEAR, PARAMS, param_cell

D = date(2026, 5, 1)


def score_fails(cli, path, code=1):
    before = path.read_bytes()
    status, out, err = cli("score", path)
    assert status == code, err
    assert "Traceback" not in err and out == ""
    assert path.read_bytes() == before
    assert not (path.parent / ".xlpipeline-backup").exists()
    return err.strip().splitlines()


@pytest.mark.parametrize("row, expected", [
    ((D, None, "9.X", 1), '扣分台账!C2: 情形代码“9.X”不存在'),
    ((D, None, None, 1), "扣分台账!C2: 情形代码不能为空"),
    ((D, 8, "9.D", 1), "扣分台账!B2: 指标序号“8”与情形代码 9.D（第9项）不一致"),
    ((D, "九", "9.D", 1), "扣分台账!B2: 指标序号应为 1–22 的整数（可不填），实际为“九”"),
    ((D, "第3项", "3.A", 1), "扣分台账!B2: 指标序号应为 1–22 的整数（可不填），实际为“第3项”"),
    ((D, None, "9.D", None), "扣分台账!D2: 数量不能为空"),
    ((D, None, "9.D", 0), "扣分台账!D2: 数量应为不小于 1 的整数，实际为“0”"),
    ((D, None, "9.D", -2), "扣分台账!D2: 数量应为不小于 1 的整数，实际为“-2”"),
    ((D, None, "9.D", 1.5), "扣分台账!D2: 数量应为不小于 1 的整数，实际为“1.5”"),
    ((D, None, "9.D", "三"), "扣分台账!D2: 数量应为不小于 1 的整数，实际为“三”"),
    ((None, None, "9.D", 1), "扣分台账!A2: 日期不能为空"),
    (("下周一", None, "9.D", 1), "扣分台账!A2: 日期“下周一”无法识别"),
    ((date(2025, 12, 31), None, "9.D", 1), "扣分台账!A2: 日期 2025-12-31 不在考评年度 2026 年内"),
    (("2027-01-01", None, "9.D", 1), "扣分台账!A2: 日期 2027-01-01 不在考评年度 2026 年内"),
    ((D, None, "9.D", 1, "非市管干部"), "扣分台账!E2: 减免情形“非市管干部”不能用于情形代码 9.D"),
    ((D, None, "12.B", 1, "领导批示"), "扣分台账!E2: 减免情形“领导批示”不存在"),
])
def test_bad_row(cli, make_workbook, row, expected):
    errors = score_fails(cli, make_workbook([row]))
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_all_errors_listed_with_their_rows(cli, make_workbook):
    rows = [(D, None, "9.D", 1), (D, None, "9.X", 1), (D, None, "9.D", 1), (None, None, "1.A", 0)]
    errors = score_fails(cli, make_workbook(rows))
    assert [e.split(":")[0] for e in errors] == ["扣分台账!C3", "扣分台账!A5", "扣分台账!D5"]


@pytest.mark.parametrize("satisfaction, rank, expected", [
    (101, None, "参数!B4: 满意度测评应为 0–100 之间的数（如 92.5；百分比格式的单元格填 92.5%），实际为“101”"),
    (-1, None, "参数!B4: 满意度测评应为 0–100 之间的数"),
    ("很好", None, "参数!B4: 满意度测评应为 0–100 之间的数（如 92.5；百分比格式的单元格填 92.5%），实际为“很好”"),
    (None, 0, "参数!B5: 全省排名应为不小于 1 的整数，实际为“0”"),
    (None, 2.5, "参数!B5: 全省排名应为不小于 1 的整数，实际为“2.5”"),
    (None, "第三", "参数!B5: 全省排名应为不小于 1 的整数，实际为“第三”"),
    (None, (3, 0), "参数!B6: 全省排名应为不小于 1 的整数，实际为“0”"),
    (92.555, None, "参数!B4: 满意度测评最多两位小数（实时公式按 0.01% 精确计算），实际为“92.555”"),
    (0.925, None, "参数!B4: 满意度测评最多两位小数（实时公式按 0.01% 精确计算），实际为“0.925”；若是 92.5%，请填 92.5"),
    ("92.5", None, "参数!B4: 满意度测评是文字“92.5”，实时公式不计文字：请直接输入数字 92.5（百分比格式的单元格填 92.5%）"),
    ("92.5％", None, "参数!B4: 满意度测评是文字“92.5％”，实时公式不计文字：请直接输入数字 92.5"),
    ("９２.５", None, "参数!B4: 满意度测评是文字“９２.５”，实时公式不计文字：请直接输入数字 92.5"),
])
def test_bad_parameters(cli, make_workbook, satisfaction, rank, expected):
    errors = score_fails(cli, make_workbook(satisfaction=satisfaction, rank=rank))
    assert errors == [expected] or errors[0].startswith(expected), errors


def percent_cell(label, value, code="0.0%"):
    """An edit that types `value` into 参数's `label` cell formatted as percent, as Excel stores 92.5%."""
    def edit(wb):
        cell = wb[PARAMS][param_cell(label)]
        cell.value, cell.number_format = value, code
    return edit


@pytest.mark.parametrize("code", ["0%", "0.00%", "0.0%", '0.0%"满意"', "[Blue]0.0%"])
def test_a_percent_formatted_satisfaction_means_what_it_shows(cli, make_workbook, code):
    """Typed as 92.5% in Excel: the cell holds 0.925 and shows 92.5%; it is 92.5, as typed plainly."""
    plain = json.loads(cli("score", make_workbook(satisfaction=92.5, name="a.xlsx"), "--json")[1])
    status, out, err = cli("score", make_workbook(edit=percent_cell(PARAM_SATISFACTION, 0.925, code), name="b.xlsx"),
                           "--json")
    assert status == 0, err
    assert json.loads(out)["items"][16] == plain["items"][16] == {"no": 17, "deduction": "1.50"}  # 20 × 7.5%


def test_a_quoted_percent_sign_is_not_a_percent_format(cli, make_workbook):
    status, out, err = cli("score", make_workbook(edit=percent_cell(PARAM_SATISFACTION, 92.5, '0.0"%"')), "--json")
    assert status == 0 and json.loads(out)["items"][16]["deduction"] == "1.50", err


@pytest.mark.parametrize("label, value, expected", [
    (PARAM_SATISFACTION, 1.5, "参数!B4: 满意度测评应为 0–100 之间的数（如 92.5；百分比格式的单元格填 92.5%），实际为“150%”"),
    (PARAM_RANKS[0], 0.07, "参数!B5: 全省排名（上级主管部门考核指标）所在单元格是百分比格式（显示为 7%），请把单元格格式改为“常规”后重新填写"),
    (PARAM_YEAR, 20.26, "参数!B3: 考评年度所在单元格是百分比格式（显示为 2026%），请把单元格格式改为“常规”后重新填写"),
])
def test_percent_slips_are_named(cli, make_workbook, label, value, expected):
    assert score_fails(cli, make_workbook(edit=percent_cell(label, value))) == [expected]


def test_unknown_year_in_parameters(cli, make_workbook):
    def edit(wb):
        wb[PARAMS][param_cell(PARAM_YEAR)] = 2031
    errors = score_fails(cli, make_workbook(edit=edit))
    assert errors[0].startswith("参数!B3: 没有 2031 年度的规则数据")


@pytest.mark.parametrize("column, title, expected", [
    (3, "代码", "扣分台账!C1: 表头应为“情形代码”，实际为“代码”"),
    (4, None, "扣分台账!D1: 缺少表头“数量”"),
])
def test_header_renamed_or_missing(cli, make_workbook, column, title, expected):
    def edit(wb):
        wb[LEDGER].cell(1, column).value = title
    assert score_fails(cli, make_workbook(edit=edit)) == [expected]


def test_a_column_inserted_is_one_message(cli, make_workbook):
    def edit(wb):
        wb[LEDGER].insert_cols(1)
        wb[LEDGER]["A1"] = "序号"
    assert score_fails(cli, make_workbook(edit=edit)) == [
        "扣分台账!A1:H1: 表头与模板不一致（是否插入、删除或移动了列？）："
        "应为“日期、指标序号、情形代码、数量、减免情形、情况说明、依据文号、责任科室”，"
        "实际为“序号、日期、指标序号、情形代码、数量、减免情形、情况说明、依据文号”"]


def test_missing_sheet_is_a_file_error(cli, make_workbook):
    def edit(wb):
        del wb[PARAMS]
    assert score_fails(cli, make_workbook(edit=edit), code=2) == [
        "考评.xlsx: 缺少工作表 “参数”；工作簿中的工作表：“任务清单”、“扣分台账”、“规则”、“得分汇总”、“通讯录”、“实时计分”、"
        "“工作日历”、“科室通讯录”、“工作进度”"]


def test_a_misspelt_sheet_is_named_with_its_near_match(cli, make_workbook):
    def edit(wb):
        wb[LEDGER].title = "扣分台帐"
    (error,) = score_fails(cli, make_workbook(edit=edit), code=2)
    assert error.startswith("考评.xlsx: 缺少工作表 “扣分台账”（是不是“扣分台帐”？）；工作簿中的工作表：“任务清单”、“扣分台帐”")


def test_sheet_names_with_surrounding_spaces_are_accepted(cli, make_workbook):
    """Invisible on the tab: "参数 " and " 任务清单" are the sheets they look like, read and written."""
    def edit(wb):
        wb[PARAMS].title = "参数 "
        wb["任务清单"].title = " 任务清单"
    path = make_workbook([(D, None, "9.D", 3)], satisfaction=100, rank=1, edit=edit)
    status, out, err = cli("score", path, "--json")
    assert status == 0, err
    assert json.loads(out)["total"] == "99.70"
    form = load_workbook(path, data_only=True)[" 任务清单"]
    assert [form[f"I{r}"].value for r in (12, 26)] == [0.3, 0.3]  # item 9's 扣分 and the 合计, written


def test_a_chinese_full_stop_in_a_code(cli, make_workbook):
    """5。A is typed with a Chinese keyboard's full stop; it means 5.A, as ５．Ａ does."""
    status, out, err = cli("score", make_workbook([(D, None, "5。A", 1), (D, None, "５．Ａ", 1)]), "--json")
    assert status == 0, err
    assert json.loads(out)["items"][4]["deduction"] == "1.00"


def test_empty_log_scores_full_marks(cli, make_workbook):
    status, out, err = cli("score", make_workbook(satisfaction=100, rank=3), "--json")
    assert status == 0, err
    assert '"total": "100.00"' in out


def test_trailing_blank_rows_are_ignored(cli, make_workbook):
    def edit(wb):
        ws = wb[LEDGER]
        for row in range(3, 10_003):  # 10,000 rows of empty strings and formatting
            ws.cell(row, 6, "")
            ws.cell(row, 1).number_format = "yyyy-mm-dd"
    status, out, err = cli("score", make_workbook([(D, None, "9.D", 2)], edit=edit), "--json", "--dry-run")
    assert status == 0, err
    assert '"deduction": "0.20"' in out


def test_accepted_spellings(cli, make_workbook):
    rows = [
        (datetime(2026, 3, 1, 9, 30), "9", "9.D 在职党员全年未参与志愿服务（每人次）", "3"),
        ("2026/3/2", 9.0, "９．ｄ", 2.0),
        ("2026年3月3日", None, " 9.d ", 1),
        (46100, None, "9.D", 1),  # a date serial typed into an unformatted cell: 2026-03-18
    ]
    status, out, err = cli("score", make_workbook(rows), "--json", "--dry-run")
    assert status == 0, err
    assert '"deduction": "0.70"' in out


def test_not_a_workbook(cli, tmp_path):
    fake = tmp_path / "假的.xlsx"
    fake.write_text("这不是工作簿", encoding="utf-8")
    assert score_fails(cli, fake, code=2) == [f"{fake}: 文件已损坏或不是 Excel 工作簿（不是有效的 .xlsx 压缩包）"]
    status, _, err = cli("score", tmp_path / "没有.xlsx")
    assert status == 2 and err.strip() == f"{tmp_path / '没有.xlsx'}: 文件不存在"


def test_no_traceback_from_the_real_command(make_workbook):
    path = make_workbook([(D, None, "9.X", 1)])
    proc = subprocess.run([sys.executable, "-m", "xlpipeline.cli", "score", str(path)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip() == '扣分台账!C2: 情形代码“9.X”不存在（见“规则”表）'


def test_a_workbook_with_the_old_single_rank_still_scores(cli, make_workbook):
    """Made before item 21 had two ranks: its one 全省排名 row is the first indicator, with a warning."""
    def edit(wb):
        ws = wb[PARAMS]
        ws["A5"], ws["B5"] = "全省排名", 8
        ws.delete_rows(6)
    status, out, err = cli("score", make_workbook(edit=edit), "--json", "--dry-run")
    assert status == 0, err
    data = json.loads(out)
    assert data["items"][20] == {"no": 21, "deduction": "1.50"}
    assert ("参数表是旧版式：“全省排名”按“全省排名（上级主管部门考核指标）”计，“全省排名（单位职能业务综合指标）”暂不计；"
            "请在参数表加一行“全省排名（单位职能业务综合指标）”（或用 xlpipeline init 新建工作簿）") in data["warnings"]


def test_item21_explanation_names_both_ranks(make_workbook, rules):
    from xlpipeline.scoring.explain import explanations
    from xlpipeline.pipeline import score_workbook
    scored = score_workbook(make_workbook(rank=(7, 8)), dry_run=True)
    assert explanations(rules, scored.results)[21] == (
        "全省排名（上级主管部门考核指标）：第 7 名；全省排名（单位职能业务综合指标）：第 8 名。"
        "前 5 名不扣分，每后退 1 名扣 0.50 分，扣 2.50 分")
