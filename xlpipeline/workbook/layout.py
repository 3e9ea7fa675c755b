"""Where things live in the working workbook: sheet names, titles and the cells we own.

The form builder, the ledger reader and the result writer all take positions from here, so a
layout change is made once.
"""
from __future__ import annotations

from dataclasses import dataclass

from xlpipeline.rules import Rules

FORM = "任务清单"
LEDGER = "扣分台账"
PARAMS = "参数"
RULES = "规则"
SUMMARY = "得分汇总"
ADDRESS_BOOK = "通讯录"
ADDRESS_COLUMNS = ("考评单位", "收件人", "邮箱", "抄送", "不发送")
CALENDAR = "工作日历"
CALENDAR_COLUMNS = ("指标序号", "工作", "频次", "期间", "应完成日期", "责任科室", "完成日期", "佐证/文号", "备注",
                    "逾期应记")
DEPARTMENTS = "科室通讯录"
DEPARTMENT_COLUMNS = ("科室", "收件人", "邮箱", "抄送", "不发送")

LEDGER_COLUMNS = ("日期", "指标序号", "情形代码", "数量", "减免情形", "情况说明", "依据文号", "责任科室")
LEDGER_ROWS = 5000  # rows below the header that carry data validation

PARAM_UNIT = "单位名称"
PARAM_YEAR = "考评年度"
PARAM_SATISFACTION = "满意度测评(%)"
PARAM_RANKS = ("全省排名（上级主管部门考核指标）", "全省排名（单位职能业务综合指标）")  # item 21 ranks two indicators
PARAM_OLD_RANK = "全省排名"  # the one rank row of workbooks made before 2026-11: read as the first indicator
PARAM_LABELS = (PARAM_UNIT, PARAM_YEAR, PARAM_SATISFACTION, *PARAM_RANKS)


def param_cell(label: str) -> str:
    """Where `init` puts a parameter's value (the reader finds parameters by label, wherever they are)."""
    return f"B{PARAM_LABELS.index(label) + 2}"

FORM_COLUMNS = ("序号", "考评指标", "考评办法", "分值", "考评单位", "应完成的工作", "责任科室", "责任领导",
                "扣分", "得分", "扣分说明")
FORM_WIDTHS = (6, 10, 46, 9, 12, 38, 12, 9, 8, 8, 40)  # 分值 holds “100分+2” on one line
SUMMARY_WIDTHS = (8, 24, 10, 12)
SUMMARY_WARNINGS_WIDTH = sum(SUMMARY_WIDTHS[1:])  # the warnings cell is merged over B:D


@dataclass(frozen=True)
class FormLayout:
    """任务清单: attachment line, title, header row, one row per item, a 合计 row."""
    rules: Rules
    header_row: int = 3

    @property
    def last_column(self) -> str:
        return "K"

    def item_row(self, no: int) -> int:
        return self.header_row + no

    @property
    def total_row(self) -> int:
        return self.item_row(len(self.rules.items)) + 1

    def deduction_cell(self, no: int) -> str:
        return f"I{self.item_row(no)}"

    def explanation_cell(self, no: int) -> str:
        return f"K{self.item_row(no)}"

    def block_score_cell(self, block_id: str) -> str:
        return f"J{self.item_row(self.rules.block(block_id).items[0])}"


@dataclass(frozen=True)
class SummaryLayout:
    """得分汇总: unit and year, one row per item, one row per block, bonus, total, warnings."""
    rules: Rules
    unit_cell: str = "B2"
    year_cell: str = "D2"
    item_header_row: int = 3

    def item_row(self, no: int) -> int:
        return self.item_header_row + no

    @property
    def headers(self) -> dict[int, tuple[str, ...]]:
        """The two header rows: what marks the sheet as ours."""
        return {self.department_header_row: ("责任科室", *PROGRESS_COUNTS), self.item_header_row: ("序号", *PROGRESS_COUNTS)}

    @property
    def block_header_row(self) -> int:
        return self.item_row(len(self.rules.items)) + 2

    def block_row(self, block_id: str) -> int:
        ids = [b.id for b in self.rules.blocks]
        return self.block_header_row + 1 + ids.index(block_id)

    @property
    def bonus_row(self) -> int:
        return self.block_header_row + len(self.rules.blocks) + 2

    @property
    def total_row(self) -> int:
        return self.bonus_row + 1

    @property
    def warnings_row(self) -> int:
        return self.bonus_row + 2


PROGRESS = "工作进度"
PROGRESS_COUNTS = ("已完成", "未到期", "逾期未完成", "合计")


@dataclass(frozen=True)
class ProgressLayout:
    """工作进度: as of the day `score` last ran, per 科室 (the 责任科室 texts of 工作日历, up to
    `departments` of them) and per item, how many occurrences are done, not yet due and overdue."""
    rules: Rules
    date_cell: str = "B2"
    department_header_row: int = 4
    departments: int = 12

    def department_row(self, index: int) -> int:
        return self.department_header_row + 1 + index

    @property
    def item_header_row(self) -> int:
        return self.department_row(self.departments) + 2

    def item_row(self, no: int) -> int:
        return self.item_header_row + no

    @property
    def headers(self) -> dict[int, tuple[str, ...]]:
        """The two header rows: what marks the sheet as ours."""
        return {self.department_header_row: ("责任科室", *PROGRESS_COUNTS), self.item_header_row: ("序号", *PROGRESS_COUNTS)}
