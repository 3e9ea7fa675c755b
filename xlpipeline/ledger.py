"""The ledger reader: 扣分台账 and 参数 → validated `Case`s and `Params`.

Every mistake is collected as `sheet!cell: message` and raised together as `InputErrors`, so the
user fixes the whole log in one pass. Cells come from calamine through pandas.
"""
from __future__ import annotations

import math
import unicodedata
import zipfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from xlpipeline.engine import Case, Params
from xlpipeline.errors import FileProblem, InputErrors
from xlpipeline.layout import (LEDGER, LEDGER_COLUMNS, PARAM_LABELS, PARAM_RANK, PARAM_SATISFACTION,
                               PARAM_UNIT, PARAM_YEAR, PARAMS)
from xlpipeline.rules import RulesError, Rules, load_rules

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
EXCEL_EPOCH = date(1899, 12, 30)
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def read_workbook(path: Path) -> tuple[Rules, Params, list[Case]]:
    """Read and validate a working workbook; the rules are those of its 考评年度."""
    frames = _read_sheets(path, (LEDGER, PARAMS))
    errors: list[str] = []
    params, rules = _params(frames[PARAMS], errors)
    cases = _cases(frames[LEDGER], rules, params.year if params else None, errors)
    if errors:
        raise InputErrors(errors)
    return rules, params, cases


def check_workbook_file(path: Path) -> None:
    if not path.exists():
        raise FileProblem(f"{path}: 文件不存在")
    if path.is_dir():
        raise FileProblem(f"{path}: 这是一个文件夹，不是工作簿")
    if path.suffix.lower() not in WORKBOOK_SUFFIXES or not zipfile.is_zipfile(path):
        raise FileProblem(f"{path}: 不是 Excel 工作簿（.xlsx/.xlsm）")


def _read_sheets(path: Path, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    check_workbook_file(path)
    try:
        with pd.ExcelFile(path, engine="calamine") as book:
            missing = [n for n in names if n not in book.sheet_names]
            if missing:
                raise FileProblem(f"{path.name}: 缺少工作表 {'、'.join(missing)}")
            return pd.read_excel(book, sheet_name=list(names), header=None, dtype=object)
    except FileProblem:
        raise
    except Exception as exc:  # calamine reports corrupt packages with assorted exception types
        raise FileProblem(f"{path}: 无法读取工作簿：{exc}") from None


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _text(value) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value) -> Decimal | None:
    """A cell as an exact decimal; floats go through their shortest repr (0.1 → Decimal('0.1'))."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and not math.isfinite(value) else Decimal(repr(value))
    try:
        return Decimal(unicodedata.normalize("NFKC", str(value)).strip())
    except InvalidOperation:
        return None


def _whole(value) -> int | None:
    number = _number(value)
    if number is None or not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def _date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        serial = _whole(value)  # a date typed into a cell without a date format
        return date.fromordinal(EXCEL_EPOCH.toordinal() + serial) if serial and 0 < serial < 2958466 else None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    return None


def _params(frame: pd.DataFrame, errors: list[str]) -> tuple[Params | None, Rules | None]:
    found: dict[str, tuple[object, str]] = {}
    for index in range(len(frame)):
        label = _text(frame.iat[index, 0])
        if label in PARAM_LABELS and label not in found:
            value = frame.iat[index, 1] if frame.shape[1] > 1 else None
            found[label] = (value, f"{PARAMS}!B{index + 1}")
    for label in PARAM_LABELS:
        if label not in found:
            errors.append(f"{PARAMS}!A:A: 缺少参数“{label}”")
    if len(found) < len(PARAM_LABELS):
        return None, None
    unit_value, unit_cell = found[PARAM_UNIT]
    unit = _text(unit_value)
    if not unit:
        errors.append(f"{unit_cell}: 单位名称不能为空")
    year_value, year_cell = found[PARAM_YEAR]
    year = _whole(year_value)
    rules = None
    if year is None:
        errors.append(f"{year_cell}: 考评年度应为四位年份，实际为“{_text(year_value)}”")
    else:
        try:
            rules = load_rules(year)
        except RulesError as exc:
            errors.append(f"{year_cell}: {exc}")
    satisfaction_value, cell = found[PARAM_SATISFACTION]
    satisfaction = None
    if not _blank(satisfaction_value):
        satisfaction = _number(satisfaction_value)
        if satisfaction is None or not satisfaction.is_finite() or not 0 <= satisfaction <= 100:
            errors.append(f"{cell}: 满意度测评应为 0–100 之间的数，实际为“{_text(satisfaction_value)}”")
            satisfaction = None
    rank_value, cell = found[PARAM_RANK]
    rank = None
    if not _blank(rank_value):
        rank = _whole(rank_value)
        if rank is None or rank < 1:
            errors.append(f"{cell}: 全省排名应为不小于 1 的整数，实际为“{_text(rank_value)}”")
            rank = None
    if rules is None:
        return None, None
    return Params(unit, year, satisfaction, rank), rules


def _cases(frame: pd.DataFrame, rules: Rules | None, year: int | None, errors: list[str]) -> list[Case]:
    header_ok = _check_header(frame, errors)
    if not header_ok:
        return []
    rows = frame.iloc[1:, :len(LEDGER_COLUMNS)].itertuples(index=False, name=None)
    cases = []
    for row_no, values in enumerate(rows, start=2):
        if all(_blank(v) for v in values):
            continue
        case = _case(row_no, values, rules, year, errors)
        if case is not None:
            cases.append(case)
    return cases


def _check_header(frame: pd.DataFrame, errors: list[str]) -> bool:
    before = len(errors)
    for col, title in enumerate(LEDGER_COLUMNS):
        cell = f"{LEDGER}!{get_column_letter(col + 1)}1"
        actual = _text(frame.iat[0, col]) if len(frame) and col < frame.shape[1] else ""
        if actual != title:
            errors.append(f"{cell}: 表头应为“{title}”，实际为“{actual}”" if actual else f"{cell}: 缺少表头“{title}”")
    return len(errors) == before


def _case(row_no: int, values: tuple, rules: Rules | None, year: int | None, errors: list[str]) -> Case | None:
    raw_date, raw_item, raw_code, raw_count, raw_modifier, note, reference, department = values
    ref = lambda col: f"{LEDGER}!{col}{row_no}"  # noqa: E731 - a cell name of this row
    before = len(errors)

    when = None
    if _blank(raw_date):
        errors.append(f"{ref('A')}: 日期不能为空")
    elif (when := _date(raw_date)) is None:
        errors.append(f"{ref('A')}: 日期“{_text(raw_date)}”无法识别，请写成 {year or 2026}-03-15 这样的格式")
    elif year is not None and when.year != year:
        errors.append(f"{ref('A')}: 日期 {when:%Y-%m-%d} 不在考评年度 {year} 年内")

    code = None
    code_text = unicodedata.normalize("NFKC", _text(raw_code)).upper().split(maxsplit=1)[0] if not _blank(raw_code) else ""
    if not code_text:
        errors.append(f"{ref('C')}: 情形代码不能为空")
    elif rules is not None:
        code = rules.codes.get(code_text)
        if code is None:
            errors.append(f"{ref('C')}: 情形代码“{code_text}”不存在（见“规则”表）")

    if not _blank(raw_item) and code is not None:
        item_no = _whole(raw_item)
        if item_no != code.item:
            errors.append(f"{ref('B')}: 指标序号“{_text(raw_item)}”与情形代码 {code.code}（第{code.item}项）不一致")

    count = None
    if _blank(raw_count):
        errors.append(f"{ref('D')}: 数量不能为空，应为不小于 1 的整数")
    elif (count := _whole(raw_count)) is None or count < 1:
        errors.append(f"{ref('D')}: 数量应为不小于 1 的整数，实际为“{_text(raw_count)}”")

    modifier = _text(raw_modifier) or None
    if modifier is not None and rules is not None:
        if modifier not in rules.modifiers:
            errors.append(f"{ref('E')}: 减免情形“{modifier}”不存在（可选：{'、'.join(rules.modifiers)}）")
        elif code is not None and modifier not in code.modifiers:
            errors.append(f"{ref('E')}: 减免情形“{modifier}”不能用于情形代码 {code.code}")

    if len(errors) > before or rules is None:
        return None
    return Case(row_no, when, code.code, count, modifier, _text(note), _text(reference), _text(department))

