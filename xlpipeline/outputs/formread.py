"""Read a filled 附件1 as people see it: the table under the header row 序号 … 扣分 得分, the unit and
year of the line above it, and the 填报日期 below. The same reader serves our own attachments (what
the visible cells said when we wrote them is embedded with the data) and forms filled by hand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from xlpipeline.scoring.engine import cents
from xlpipeline.scoring.ledger import cell_number

HEADER = ("序号", "扣分", "得分")
MAX_AMOUNT = 1000  # larger than any score: what is beyond is not a score
TOTAL_LABELS = ("合计", "小计")
UNIT = re.compile(r"(?:填报)?单位(?:（盖章）)?[：:]\s*([^\s　]+)")
YEAR = re.compile(r"考评年度[：:]\s*(\d{4})")
REPORT_DATE = re.compile(r"填报日期[：:]\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


@dataclass
class VisibleForm:
    unit: str = ""
    year: int | None = None
    report_date: date | None = None
    items: dict[int, Decimal] = field(default_factory=dict)   # 序号 → 扣分 (the bonus item: points added)
    scores: dict[int, Decimal] = field(default_factory=dict)  # 序号 of a block's first row → its 得分
    total: Decimal | None = None
    total_label: str = ""

    def snapshot(self) -> dict:
        """What the cells say, as JSON (amounts as two-decimal strings)."""
        return {"items": {str(k): f"{v:.2f}" for k, v in self.items.items()},
                "scores": {str(k): f"{v:.2f}" for k, v in self.scores.items()},
                "total": None if self.total is None else f"{self.total:.2f}"}


def amount(value) -> Decimal | None:
    """A score cell's amount: a number, or text like "1.50", "+1.50", "1.5分"; None when blank or not
    one (negative, not finite, or beyond any score)."""
    number = cell_number(value.strip().removesuffix("分") if isinstance(value, str) else value)
    return cents(number) if number is not None and number.is_finite() and 0 <= number <= MAX_AMOUNT else None


def read_form(grid) -> VisibleForm | None:
    """The form on a sheet's grid (rows of calamine values), or None when the sheet has no 附件1 table."""
    rows = grid if isinstance(grid, list) else list(grid)
    header = next((r for r, row in enumerate(rows) if _columns(row)), None)
    if header is None:
        return None
    number, deducted, scored = _columns(rows[header])
    width = max(number, deducted, scored) + 1
    form = VisibleForm()
    for row in rows[:header]:
        _header_line(form, _text(row))
    for row in rows[header + 1:]:
        cells = list(row) + [""] * (width - len(row))
        no = _item_number(cells[number])
        if no is not None:
            form.items[no] = amount(cells[deducted]) or Decimal("0.00")
            if amount(cells[scored]) is not None:
                form.scores[no] = amount(cells[scored])
            continue
        text = _text(cells)
        first = text.split(" ", 1)[0]
        if first in TOTAL_LABELS and form.total is None:
            form.total, form.total_label = amount(cells[scored]), first
        match = REPORT_DATE.search(text) if "填报日期" in text else None
        if match:
            form.report_date = _date(*match.groups())
            form.unit = form.unit or _unit(text)
    return form if form.items else None


def _text(row) -> str:
    return " ".join(str(v).strip() for v in row if v is not None and v != "")


def _columns(row: list) -> tuple[int, int, int] | None:
    if not any(isinstance(v, str) and "序号" in v for v in row):
        return None
    titles = [re.sub(r"\s+", "", str(v)) for v in row]
    if not all(t in titles for t in HEADER):
        return None
    return tuple(titles.index(t) for t in HEADER)  # type: ignore[return-value]


def _item_number(value) -> int | None:
    if isinstance(value, float) and value.is_integer() and 0 < value < 1000:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1000:
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,3}\s*", value) and int(value) > 0:
        return int(value)
    return None


def _header_line(form: VisibleForm, text: str) -> None:
    form.unit = form.unit or _unit(text)
    match = YEAR.search(text)
    if match and form.year is None:
        form.year = int(match[1])


def _unit(text: str) -> str:
    match = UNIT.search(text)
    return match[1] if match else ""


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
