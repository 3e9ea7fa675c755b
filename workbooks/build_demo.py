"""Rebuild the demo working workbook: `python workbooks/build_demo.py`.

A realistic year of cases for 市散墙办; the expected scores are checked in tests/test_demo.py.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook

from xlpipeline.pipeline import score_workbook
from xlpipeline.workbook.layout import ADDRESS_BOOK, CALENDAR, DEPARTMENTS, LEDGER, PARAM_RANKS, PARAM_SATISFACTION, PARAMS, param_cell
from xlpipeline.resources import DEMO_WORKBOOK
from xlpipeline.rules import load_rules
from xlpipeline.create import init_workbook

SATISFACTION = 93.5
RANKS = (7, 6)  # 上级主管部门考核指标, 单位职能业务综合指标

# 日期, 指标序号, 情形代码, 数量, 减免情形, 情况说明, 依据文号, 责任科室
CASES = [
    (date(2026, 1, 18), 2, "2.A", 1, None, "请示报告事项逾期报送", "市委办督〔2026〕3号", "综合科"),
    (date(2026, 2, 27), None, "5.A", 1, None, "2月中心组学习未按时组织", "", "综合科"),
    (date(2026, 3, 12), 1, "1.C 市级通报问责 / 一般负面影响", 1, None, "信息报送差错被市级通报", "市委办通〔2026〕7号", "综合科"),
    (date(2026, 3, 20), None, "9.D", 5, None, "一季度志愿服务活动未参加", "", "督查科"),
    (date(2026, 3, 25), 4, "4.A", 1, None, "上半年分析研判推迟", "", "综合科"),
    (date(2026, 3, 31), None, "7.A", 1, None, "智慧党建平台一季度扣分", "", "综合科"),
    (date(2026, 4, 8), None, "5.B", 1, None, "未向双向反馈系统反馈", "", "综合科"),
    (date(2026, 4, 16), 12, "12.B", 1, "非市管干部", "工作人员受警告处分", "市纪委〔2026〕21号", "执法科"),
    (date(2026, 4, 22), None, "4.B", 1, None, "意识形态工作未列入学习计划", "市委宣通〔2026〕4号", "综合科"),
    (date(2026, 5, 6), None, "10.B", 1, None, "整治形式主义台账不规范", "市委办〔2026〕15号", "综合科"),
    (date(2026, 5, 14), None, "11.A", 1, None, "公务用车使用不规范被约谈", "", "办公室"),
    (date(2026, 5, 29), None, "5.B", 2, None, "5月两次未反馈", "", "综合科"),
    (date(2026, 6, 3), 6, "6.B", 1, None, "党建工作被市直机关工委通报", "市直工委通〔2026〕9号", "综合科"),
    (date(2026, 6, 11), None, "18.A", 1, None, "招商引资任务未完成", "市政府办〔2026〕33号", "督查科"),
    (date(2026, 6, 19), None, "12.A", 1, "主动查处", "机关纪委主动查处", "", "执法科"),
    (date(2026, 6, 30), None, "7.A", 2, None, "党建任务两项未落实", "", "综合科"),
    (date(2026, 7, 2), None, "5.A", 1, None, "7月中心组学习缺1次", "", "综合科"),
    (date(2026, 7, 15), None, "8.A", 2, None, "“五化”建设缺两个环节", "", "综合科"),
    (date(2026, 7, 21), None, "9.A", 1, None, "党员违规行为被曝光", "", "执法科"),
    (date(2026, 8, 5), 3, "3.A", 1, None, "民主生活会准备不充分", "市委组通〔2026〕12号", "综合科"),
    (date(2026, 8, 19), None, "13.A", 1, None, "“两同时”谈话未按时开展", "", "综合科"),
    (date(2026, 8, 28), None, "22.C 国家部委或省委、省政府表彰，综合工作", 1, None, "获省委省政府综合表彰",
     "省委〔2026〕40号", "综合科"),
    (date(2026, 9, 10), 2, "2.A", 1, None, "年度工作任务梳理未按时完成", "", "综合科"),
    (date(2026, 9, 16), None, "2.D", 1, None, "市级通报", "市委办通〔2026〕28号", "综合科"),
    (date(2026, 9, 24), None, "9.D", 7, None, "三季度志愿服务活动未参加", "", "督查科"),
    (date(2026, 10, 9), None, "12.G", 1, None, "追责案件在全市造成不良影响", "市纪委〔2026〕57号", "执法科"),
    (date(2026, 10, 20), None, "15.B", 1, None, "未组织廉政教育文化活动", "", "综合科"),
    (date(2026, 10, 28), None, "19.B", 1, None, "中心工作完成质量不高", "市委办督〔2026〕41号", "督查科"),
    (date(2026, 11, 3), None, "18.A", 1, None, "开放型经济任务未完成", "市政府办〔2026〕52号", "督查科"),
    (date(2026, 11, 12), None, "20.A", 1, None, "行政执法案卷不规范", "", "执法科"),
    (date(2026, 11, 20), None, "22.B", 1, "办公厅名义", "获国务院办公厅单项表彰", "国办通〔2026〕8号", "综合科"),
]


# 通讯录: reserved example.com addresses, so the demo can never mail a real office
ADDRESSES = {
    "市委办": ("张主任", "swb@example.com"), "市政府办": ("李科长", "szfb@example.com"),
    "市委组织部": ("王科长", "zzb@example.com"), "市委宣传部": ("赵科长", "xcb@example.com"),
    "市直机关工委": ("钱科长", "jggw@example.com"), "市纪委市监委": ("孙科长", "jw@example.com"),
    "市委政法委": ("周科长", "zfw@example.com; zfw2@example.com"),
}


# 工作日历: every duty done a few days before its date, except those the log records as missed;
# some rows handed to the 科室 that did the work; 科室通讯录 filled like 通讯录
MISSED = {(4, "分析研判", "2026年上半年"), (5, "理论学习中心组学习", "2026年7月")}  # the log's 4.A and 5.A
HANDED = {9: "督查科", 15: "执法科", 18: "督查科", 21: "办公室"}
DEPARTMENT_ADDRESSES = [("综合科", "陈科长", "zhk@example.com"), ("督查科", "刘科长", "dck@example.com"),
                        ("执法科", "吴科长", "zfk@example.com"), ("办公室", "郑主任", "bgs@example.com")]


def build(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:  # scoring keeps a backup beside the file: not in workbooks/
        path = Path(tmp) / target.name
        _build(path)
        shutil.copyfile(path, target)


def _build(path: Path) -> None:
    init_workbook(path, load_rules(2026), "市散墙办", force=True)
    wb = load_workbook(path)  # our own fresh workbook: openpyxl round-trips everything in it
    ledger = wb[LEDGER]
    for case in CASES:
        ledger.append(case)
        ledger.cell(ledger.max_row, 1).number_format = "yyyy-mm-dd"
    book = wb[ADDRESS_BOOK]
    for row in range(2, book.max_row + 1):
        unit = book.cell(row, 1).value
        book.cell(row, 2).value, book.cell(row, 3).value = ADDRESSES[unit]
    book.cell(2, 4).value = "archive@example.com"
    calendar = wb[CALENDAR]
    for row in range(2, calendar.max_row + 1):
        item, duty, _, period, due = (calendar.cell(row, col).value for col in range(1, 6))
        if item in HANDED:
            calendar.cell(row, 6).value = HANDED[item]
        if (item, duty, period) not in MISSED:
            calendar.cell(row, 7).value = due - timedelta(days=3 + row % 5)
            calendar.cell(row, 7).number_format = "yyyy-mm-dd"
            calendar.cell(row, 8).value = "会议记录" if row % 3 else "工作台账"
    departments = wb[DEPARTMENTS]
    for row, values in enumerate(DEPARTMENT_ADDRESSES, start=2):
        for col, value in enumerate(values, start=1):
            departments.cell(row, col).value = value
    params = wb[PARAMS]
    params[param_cell(PARAM_SATISFACTION)] = SATISFACTION
    for label, place in zip(PARAM_RANKS, RANKS):
        params[param_cell(label)] = place
    wb.save(path)
    score_workbook(path)  # 扣分说明, and the figures as cached values for readers that do not calculate


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEMO_WORKBOOK)
