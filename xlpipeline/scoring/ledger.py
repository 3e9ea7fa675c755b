"""The ledger reader: 扣分台账 and 参数 → validated `Case`s and `Params`.

Every mistake is collected as `sheet!cell: message` and raised together as `InputErrors`, so the
user fixes the whole log in one pass. Cells come from the book adapter (`xlpipeline.workbook.book`): from
python-calamine for a file — pandas' calamine engine would add twice calamine's own reading time
for nothing we use (see benchmarks/bench_score.py) — or from Excel through xlwings.
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from xlpipeline.workbook.book import Book, FileBook, Grid
from xlpipeline.scoring.engine import CENT, Case, Params, Rank
from xlpipeline.errors import InputErrors
from xlpipeline.workbook.layout import (LEDGER, LEDGER_COLUMNS, PARAM_LABELS, PARAM_OLD_RANK, PARAM_RANKS,
                               PARAM_SATISFACTION, PARAM_UNIT, PARAM_YEAR, PARAMS)
from xlpipeline.ooxml.numfmt import is_percent
from xlpipeline.workbook.live import LAST_ROW
from xlpipeline.ooxml.parts import column_letters
from xlpipeline.rules import Code, Rules, RulesError, load_rules

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
EXCEL_EPOCH = date(1899, 12, 30)
WIDTH = len(LEDGER_COLUMNS)


def read_book(book: Book, grids: dict[str, Grid] | None = None) -> tuple[Rules, Params, list[Case]]:
    """Read and validate a working workbook (or its `grids`, already read); the rules are those of
    its 考评年度. A 参数 value in a cell formatted as percent means what the cell shows."""
    grids = grids or book.grids((LEDGER, PARAMS))
    cells = {ref.split("!")[1] for _, ref in _param_cells(grids[PARAMS]).values()}
    formats = book.number_formats(PARAMS, cells)
    return parse_grids(grids, frozenset(ref for ref, code in formats.items() if is_percent(code)))


def rules_of(book: Book) -> Rules:
    """The rules of the workbook's 考评年度, from 参数 alone (whatever mistakes its log holds)."""
    value, cell = _param_cells(book.grids((PARAMS,))[PARAMS]).get(PARAM_YEAR, ("", f"{PARAMS}!A:A"))
    year = None if blank(value) else whole(value)
    if year is None:
        raise InputErrors([f"{cell}: 考评年度应为四位年份，实际为“{as_text(value)}”"])
    try:
        return load_rules(year)
    except RulesError as exc:
        raise InputErrors([f"{cell}: {exc}"]) from None


def parse_grids(sheets: dict[str, Grid], percent: frozenset[str] = frozenset()) -> tuple[Rules, Params, list[Case]]:
    """Validate the 扣分台账 and 参数 grids (`percent`: the 参数 cells formatted as percent); every
    mistake is collected into one InputErrors."""
    errors: list[str] = []
    params, rules = _params(sheets[PARAMS], percent, errors)
    cases, pending = _cases(sheets[LEDGER], rules, params.year if params else None, errors)
    if errors:
        raise InputErrors(errors)
    return rules, replace(params, pending=tuple(pending)), cases


def read_workbook(path: Path) -> tuple[Rules, Params, list[Case]]:
    return read_book(FileBook(path))


def blank(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def as_text(value) -> str:
    if blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def code_text(value) -> str:
    """A 情形代码 cell as a code: the bare code or the dropdown's "code label", full-width and
    lower case accepted ("" for a blank cell)."""
    if blank(value):
        return ""
    # "。" is how a Chinese keyboard types the full stop in 5.A
    return unicodedata.normalize("NFKC", as_text(value)).replace("。", ".").upper().split(maxsplit=1)[0]


def cell_number(value) -> Decimal | None:
    """A cell as an exact decimal; floats go through their shortest repr (0.1 → Decimal('0.1'))."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and not math.isfinite(value) else Decimal(repr(value))
    try:
        return Decimal(unicodedata.normalize("NFKC", str(value)).strip())
    except InvalidOperation:
        return None


def whole(value) -> int | None:
    number = cell_number(value)
    if number is None or not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def cell_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        serial = whole(value)  # a date typed into a cell without a date format
        return date.fromordinal(EXCEL_EPOCH.toordinal() + serial) if serial and 0 < serial < 2958466 else None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    return None


def _param_cells(grid: Grid) -> dict[str, tuple[object, str]]:
    """Each 参数 label found in column A: its value (column B) and that cell's reference."""
    found: dict[str, tuple[object, str]] = {}
    for index, row in enumerate(grid):
        label = as_text(row[0]) if row else ""
        if label in PARAM_LABELS + (PARAM_OLD_RANK,) and label not in found:
            found[label] = (row[1] if len(row) > 1 else "", f"{PARAMS}!B{index + 1}")
    return found


def _params(grid: Grid, percent: frozenset[str], errors: list[str]) -> tuple[Params | None, Rules | None]:
    found = _param_cells(grid)
    as_percent = {label: cell.split("!")[1] in percent and cell_number(value) is not None
                  for label, (value, cell) in found.items()}
    slips = [label for label in (PARAM_YEAR, *PARAM_RANKS, PARAM_OLD_RANK) if as_percent.get(label)]
    for label in slips:  # a rank or a year is never a percentage: the cell's format is a slip
        value, cell = found[label]
        errors.append(f"{cell}: {label}所在单元格是百分比格式（显示为 {_percent_text(value)}），"
                      "请把单元格格式改为“常规”后重新填写")
        found[label] = ("", cell)
    notes = ()
    if PARAM_OLD_RANK in found and not any(label in found for label in PARAM_RANKS):
        found[PARAM_RANKS[0]], found[PARAM_RANKS[1]] = found[PARAM_OLD_RANK], ("", "")
        notes = (f"参数表是旧版式：“{PARAM_OLD_RANK}”按“{PARAM_RANKS[0]}”计，“{PARAM_RANKS[1]}”暂不计；"
                 f"请在参数表加一行“{PARAM_RANKS[1]}”（或用 xlpipeline init 新建工作簿）",)
    missing = [label for label in PARAM_LABELS if label not in found]
    for label in missing:
        errors.append(f"{PARAMS}!A:A: 缺少参数“{label}”")
    if missing:
        return None, None
    unit_value, unit_cell = found[PARAM_UNIT]
    unit = as_text(unit_value)
    if not unit:
        errors.append(f"{unit_cell}: 单位名称不能为空")
    year_value, year_cell = found[PARAM_YEAR]
    year = whole(year_value)
    rules = None
    if year is None:
        if PARAM_YEAR not in slips:
            errors.append(f"{year_cell}: 考评年度应为四位年份，实际为“{as_text(year_value)}”")
    else:
        try:
            rules = load_rules(year)
        except RulesError as exc:
            errors.append(f"{year_cell}: {exc}")
    satisfaction_value, cell = found[PARAM_SATISFACTION]
    satisfaction = None
    if not blank(satisfaction_value):
        satisfaction = cell_number(satisfaction_value)
        shown = as_text(satisfaction_value)
        if as_percent[PARAM_SATISFACTION]:  # typed as 92.5% in Excel: stored 0.925, shown and meant 92.5
            satisfaction, shown = satisfaction * 100, _percent_text(satisfaction_value)
        typed = cell_number(satisfaction_value.strip().rstrip("%％")) if isinstance(satisfaction_value, str) else None
        if typed is not None:  # the live formulas count no text: refused, so that the two agree
            errors.append(f"{cell}: 满意度测评是文字“{shown}”，实时公式不计文字：请直接输入数字 {typed}"
                          f"（百分比格式的单元格填 {typed}%）")
            satisfaction = None
        elif satisfaction is None or not satisfaction.is_finite() or not 0 <= satisfaction <= 100:
            errors.append(f"{cell}: 满意度测评应为 0–100 之间的数（如 92.5；百分比格式的单元格填 92.5%），实际为“{shown}”")
            satisfaction = None
        elif satisfaction != satisfaction.quantize(CENT):
            meant = format((satisfaction * 100).normalize(), "f")
            hint = f"；若是 {meant}%，请填 {meant}" if satisfaction < 1 else ""
            errors.append(f"{cell}: 满意度测评最多两位小数（实时公式按 0.01% 精确计算），实际为“{shown}”{hint}")
            satisfaction = None
    ranks = tuple(Rank(label, _rank(*found[label], errors)) for label in PARAM_RANKS)
    if rules is None:
        return None, None
    return Params(unit, year, satisfaction, ranks, notes), rules


def _percent_text(value) -> str:
    return f"{format((cell_number(value) * 100).normalize(), 'f')}%"


def _rank(value, cell: str, errors: list[str]) -> int | None:
    if blank(value):
        return None
    rank = whole(value)
    if rank is None or rank < 1:
        errors.append(f"{cell}: 全省排名应为不小于 1 的整数，实际为“{as_text(value)}”")
        return None
    return rank


def _cases(grid: Grid, rules: Rules | None, year: int | None, errors: list[str]) -> tuple[list[Case], list[int]]:
    """The valid cases, and the rows of those the live formulas do not count (待核对)."""
    rows = iter(grid)
    if not _check_header(next(rows, []), errors):
        return [], []
    check = _CellChecks(rules, year)
    cases = []
    for row_no, row in enumerate(rows, start=2):
        values = row if len(row) == WIDTH else (row + [""] * WIDTH)[:WIDTH]
        if values.count("") == WIDTH or (blank(values[0]) and all(blank(v) for v in values)):
            continue
        case = check.case(row_no, values, errors)
        if case is not None:
            cases.append(case)
    return cases, check.pending


def _check_header(header: list, errors: list[str]) -> bool:
    found = header_errors(LEDGER, LEDGER_COLUMNS, header)
    errors += found
    return not found


def header_errors(sheet: str, titles: tuple[str, ...], header: list) -> list[str]:
    """One message per wrong title; or, when several are wrong (a column inserted, deleted or
    moved), one message with the expected and the found header row."""
    actual = [as_text(header[col]) if col < len(header) else "" for col in range(len(titles))]
    wrong = [col for col, title in enumerate(titles) if actual[col] != title]
    if len(wrong) > 1:
        last = column_letters(len(titles))
        return [f"{sheet}!A1:{last}1: 表头与模板不一致（是否插入、删除或移动了列？）：应为“{'、'.join(titles)}”，"
                f"实际为“{'、'.join(a or '（空）' for a in actual)}”"]
    return [f"{sheet}!{column_letters(col + 1)}1: "
            + (f"表头应为“{titles[col]}”，实际为“{actual[col]}”" if actual[col] else f"缺少表头“{titles[col]}”")
            for col in wrong]


class _CellChecks:
    """Checks of one log's cells. A log repeats few distinct values (codes, counts, dates), so each
    check is memoised on the cell's value: a result, or the message for a bad value."""

    def __init__(self, rules: Rules | None, year: int | None):
        self.rules, self.year = rules, year
        self.date = cache(self._date)
        self.code = cache(self._code)
        self.count = cache(self._count)
        self.item = cache(self._item)
        self.modifier = cache(self._modifier)
        self.department = cache(as_text)  # one string per 责任科室, however many rows name it
        self.live_code = cache(self._live_code)
        self.live_forms = {form.upper() for c in rules.codes.values() for form in (c.code, c.display)} if rules else set()
        self.pending: list[int] = []  # rows valid here that the live formulas do not count

    def case(self, row_no: int, values: list, errors: list[str]) -> Case | None:
        raw_date, raw_item, raw_code, raw_count, raw_modifier, note, reference, department = values
        when, date_error = self.date(type(raw_date), raw_date)
        code, code_error = self.code(type(raw_code), raw_code)
        code_key = code.code if code else None
        count, count_error = self.count(type(raw_count), raw_count)
        item_error = self.item(type(raw_item), raw_item, code_key)
        modifier, modifier_error = self.modifier(type(raw_modifier), raw_modifier, code_key)
        if date_error or item_error or code_error or count_error or modifier_error:
            errors += [f"{LEDGER}!{column}{row_no}: {message}" for column, message in (
                ("A", date_error), ("B", item_error), ("C", code_error), ("D", count_error), ("E", modifier_error))
                if message]
            return None
        if self.rules is None:
            return None
        if not self.counted_live(row_no, raw_date, raw_item, raw_code, raw_count, raw_modifier):
            self.pending.append(row_no)
        # free text: a str in all but odd cases, so the general conversion is skipped inline (hot loop)
        return Case(row_no, when, code_key, count, modifier,
                    note.strip() if type(note) is str else as_text(note),
                    reference.strip() if type(reference) is str else as_text(reference),
                    self.department(department))

    def counted_live(self, row_no: int, raw_date, raw_item, raw_code, raw_count, raw_modifier) -> bool:
        """Whether the live formulas count this valid row as this reading does (see
        `live.pending_row_rule`): they read rows 2–LAST_ROW and take dates, counts and 指标序号 as
        numbers only, the code as the bare code or the dropdown's text exactly (any case), a blank
        cell as empty only."""
        return (row_no <= LAST_ROW and type(raw_date) is not str and type(raw_count) is not str
                and (raw_item is None or raw_item == "" or type(raw_item) in (int, float))
                and self.live_code(raw_code)
                and (raw_modifier is None or raw_modifier == "" or raw_modifier in self.rules.modifiers))

    def _live_code(self, raw) -> bool:
        return type(raw) is str and raw.upper() in self.live_forms

    def _date(self, _type, raw) -> tuple[date | None, str | None]:
        if blank(raw):
            return None, "日期不能为空"
        when = cell_date(raw)
        if when is None:
            return None, f"日期“{as_text(raw)}”无法识别，请写成 {self.year or 2026}-03-15 这样的格式"
        if self.year is not None and when.year != self.year:
            return None, f"日期 {when:%Y-%m-%d} 不在考评年度 {self.year} 年内"
        return when, None

    def _code(self, _type, raw) -> tuple[Code | None, str | None]:
        if blank(raw):
            return None, "情形代码不能为空"
        text = code_text(raw)
        if self.rules is None:
            return None, None
        code = self.rules.codes.get(text)
        return code, None if code else f"情形代码“{text}”不存在（见“规则”表）"

    def _count(self, _type, raw) -> tuple[int | None, str | None]:
        if blank(raw):
            return None, "数量不能为空，应为不小于 1 的整数"
        count = whole(raw)
        if count is None or count < 1:
            return None, f"数量应为不小于 1 的整数，实际为“{as_text(raw)}”"
        return count, None

    def _item(self, _type, raw, code_key: str | None) -> str | None:
        if blank(raw) or code_key is None:
            return None
        code = self.rules.codes[code_key]
        number = whole(raw)
        if number == code.item:
            return None
        if number is None:
            return f"指标序号应为 1–{len(self.rules.items)} 的整数（可不填），实际为“{as_text(raw)}”"
        return f"指标序号“{as_text(raw)}”与情形代码 {code.code}（第{code.item}项）不一致"

    def _modifier(self, _type, raw, code_key: str | None) -> tuple[str | None, str | None]:
        name = as_text(raw)
        if not name or self.rules is None:
            return name or None, None
        if name not in self.rules.modifiers:
            return None, f"减免情形“{name}”不存在（可选：{'、'.join(self.rules.modifiers)}）"
        if code_key is not None and name not in self.rules.codes[code_key].modifiers:
            return None, f"减免情形“{name}”不能用于情形代码 {code_key}"
        return name, None
