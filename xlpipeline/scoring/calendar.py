"""工作日历: the duties of 应完成的工作 as dated occurrences in 考评年度, and what is due or overdue.

The occurrences come from the rules data alone (a new year's rules give a new year's calendar);
the 工作日历 sheet holds them with what staff add: 完成日期, 佐证/文号, 备注, another 责任科室,
rows of their own. An overdue occurrence is only ever a hint: the log stays the one source of
deductions.
"""
from __future__ import annotations

import calendar as months
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from xlpipeline.errors import InputErrors
from xlpipeline.rules import FREQUENCIES, Duty, Rules
from xlpipeline.scoring.ledger import as_text, blank, cell_date, header_errors, whole
from xlpipeline.workbook.book import Book, Grid
from xlpipeline.workbook.layout import CALENDAR, CALENDAR_COLUMNS

SOON_DAYS = 14  # "due soon": within this many days, as the sheet's amber
LISTED = 20     # overdue occurrences named one by one in the hints
QUARTERS = "一二三四"


@dataclass(frozen=True)
class Occurrence:
    item: int
    duty: str
    every: str
    period: str        # as the sheet shows it: 2026年3月, 2026年第二季度, 2026年上半年, 2026年…
    due: date
    department: str
    code: str | None
    done: date | None = None
    evidence: str = ""
    note: str = ""
    row: int | None = None  # its row in 工作日历, where read from the sheet

    @property
    def uid(self) -> str:
        """The same occurrence has the same id in every export (an import updates, never duplicates)."""
        key = f"{self.due.year}|{self.item}|{self.duty}|{self.period}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + "@xlpipeline"

    def status(self, today: date) -> str:
        if self.done is not None:
            return "已完成"
        if self.due < today:
            return "逾期"
        return "即将到期" if self.due - today <= timedelta(days=SOON_DAYS) else "未到期"

    def hint(self) -> str:
        within = FREQUENCIES.get(self.every, 1) or 1
        short = self.period.removeprefix(f"{self.due.year}年") if within > 1 else ""  # 3月, 第二季度, 上半年
        what = f"第{self.item}项 {short}{self.duty}"
        then = f"：如属实应记 {self.code}" if self.code else "（原文未规定对应的扣分情形）"
        return f"{what}（应于 {self.due:%Y-%m-%d} 前）未登记完成{then}"


def _periods(year: int, every: str) -> list[tuple[str, int]]:
    """Each period of `every` in `year`: its label and its last month."""
    count = FREQUENCIES[every]
    if count is None:
        return []
    if count == 12:
        return [(f"{year}年{m}月", m) for m in range(1, 13)]
    if count == 4:
        return [(f"{year}年第{QUARTERS[q]}季度", 3 * q + 3) for q in range(4)]
    if count == 2:
        return [(f"{year}年上半年", 6), (f"{year}年下半年", 12)]
    return [({"每年": f"{year}年", "年底前": f"{year}年底前", "一次": f"{year}年（一次）"}[every], 12)]


def _due(year: int, month: int, duty: Duty) -> date:
    last = months.monthrange(year, month)[1]
    return date(year, month, min(duty.due_day or last, last))


def departments(rules: Rules) -> list[str]:
    """The 科室 the form's 责任科室 names: “综合科牵头负责，其他科室协作完成” names 综合科."""
    return list(dict.fromkeys(span.text.split("牵头")[0] for span in rules.responsibilities))


def occurrences(rules: Rules) -> list[Occurrence]:
    """Every occurrence of every duty in 考评年度, by due date (then item, then the duty's place)."""
    department = {no: span.text for span in rules.responsibilities for no in range(span.first, span.last + 1)}
    found = []
    for item in rules.items:
        for place, duty in enumerate(item.duties):
            for period, month in _periods(rules.year, duty.every):
                due = _due(rules.year, month, duty)
                found.append((due, item.no, place, Occurrence(item.no, duty.name, duty.every, period, due,
                                                              department[item.no], duty.code)))
    return [o for *_, o in sorted(found, key=lambda f: f[:3])]


def read_calendar(book: Book, rules: Rules, grid: Grid | None = None) -> list[Occurrence]:
    """The occurrences as the 工作日历 sheet holds them; InputErrors naming each bad cell."""
    rows = iter(grid if grid is not None else book.grids((CALENDAR,))[CALENDAR])
    errors = header_errors(CALENDAR, CALENDAR_COLUMNS, next(rows, []))
    if errors:
        raise InputErrors(errors)
    found = []
    for row_no, row in enumerate(rows, start=2):
        cells = (list(row) + [""] * len(CALENDAR_COLUMNS))[:len(CALENDAR_COLUMNS)]
        if all(blank(v) for v in cells):
            continue
        entry, problems = _entry(cells, row_no, rules)
        errors += problems
        if entry is not None:
            found.append(entry)
    if errors:
        raise InputErrors(errors)
    return found


def _entry(cells: list, row_no: int, rules: Rules) -> tuple[Occurrence | None, list[str]]:
    item, duty, every, period, due, department, done, evidence, note, code = cells
    ref = lambda col: f"{CALENDAR}!{col}{row_no}"  # noqa: E731
    errors = []
    number = whole(item) if not blank(item) else None
    if number is None or not 1 <= number <= len(rules.items):
        errors.append(f"{ref('A')}: 指标序号应为 1–{len(rules.items)} 的整数")
    if blank(duty):
        errors.append(f"{ref('B')}: 工作不能为空")
    due_date = None if blank(due) else cell_date(due)
    if due_date is None:
        errors.append(f"{ref('E')}: 应完成日期应为日期（如 {rules.year}-06-30）")
    done_date = None if blank(done) else cell_date(done)
    if not blank(done) and done_date is None:
        errors.append(f"{ref('G')}: 完成日期“{as_text(done)}”无法识别，请写成 {rules.year}-03-15 这样的格式")
    if errors:
        return None, errors
    return Occurrence(number, as_text(duty), as_text(every), as_text(period), due_date, as_text(department),
                      as_text(code) or None, done_date, as_text(evidence), as_text(note), row_no), []


def overdue_hints(entries: list[Occurrence], today: date) -> list[str]:
    """提示 for occurrences past their date with no 完成日期. A calendar nobody has filled in yet
    gives one line, not one per occurrence."""
    late = sorted((e for e in entries if e.status(today) == "逾期"), key=lambda e: (e.due, e.item))
    if not late:
        return []
    if not any(e.done for e in entries):
        return [f"{CALENDAR}中有 {len(late)} 项工作已过应完成日期，尚未登记任何完成日期：完成的请填写完成日期，"
                "逾期未完成的请核实是否应在扣分台账登记"]
    lines = [e.hint() for e in late[:LISTED]]
    if len(late) > LISTED:
        lines.append(f"……另有 {len(late) - LISTED} 项逾期未登记完成，见{CALENDAR}")
    return lines


def read_for_score(book: Book, rules: Rules, grid: Grid | None, today: date) -> tuple[list[Occurrence], list[str]]:
    """What `score` takes from 工作日历 (`grid`; None for a workbook made before it): the
    occurrences and the 提示. Its mistakes are named as 提示 too, with no occurrences: the calendar
    never changes a score, so it never stops one."""
    if grid is None:
        return [], []
    try:
        entries = read_calendar(book, rules, grid)
    except InputErrors as exc:
        return [], [f"{message}（工作日历不影响得分）" for message in exc.messages]
    return entries, overdue_hints(entries, today)


def tally(entries: list[Occurrence], today: date) -> tuple[dict[str, dict[str, int]], dict[int, dict[str, int]]]:
    """Per 责任科室 and per item: occurrences 已完成, 未到期 (not done, not yet late) and 逾期未完成."""
    kinds = {"已完成": "已完成", "逾期": "逾期未完成", "即将到期": "未到期", "未到期": "未到期"}
    by_department: dict[str, dict[str, int]] = {}
    by_item: dict[int, dict[str, int]] = {}
    for e in entries:
        kind = kinds[e.status(today)]
        for table, key in ((by_department, e.department or "未指定"), (by_item, e.item)):
            counts = table.setdefault(key, {"已完成": 0, "未到期": 0, "逾期未完成": 0})
            counts[kind] += 1
    return by_department, by_item


def in_range(entries: list[Occurrence], start: date | None, end: date | None,
             department: str | None = None) -> list[Occurrence]:
    """The occurrences due between `start` and `end` (inclusive), of one 科室 where given (its name
    within the 责任科室 text: “综合科” is in “综合科牵头负责，其他科室协作完成”)."""
    return [e for e in entries if (start is None or e.due >= start) and (end is None or e.due <= end)
            and (not department or department in e.department)]


def outstanding(entries: list[Occurrence], by: date, department: str | None = None) -> list[Occurrence]:
    """The occurrences not done that are due by `by` (the overdue ones included), of one 科室 where
    given: what the page and `remind` call open."""
    return [e for e in in_range(entries, None, by, department) if e.done is None]
