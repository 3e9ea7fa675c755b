"""The 通讯录 sheet (who receives each 考评单位's attachment) and the 科室通讯录 sheet (who receives
each 科室's reminders of 工作日历): the same columns, checked the same way."""
from __future__ import annotations

import re
from dataclasses import dataclass

from xlpipeline.workbook.book import Book
from xlpipeline.errors import InputErrors, UserError
from xlpipeline.workbook.layout import ADDRESS_BOOK, ADDRESS_COLUMNS, DEPARTMENT_COLUMNS, DEPARTMENTS
from xlpipeline.scoring.ledger import as_text, header_errors
from xlpipeline.mail.message import Mailbox, check_address, check_header_text
from xlpipeline.rules import Rules

SEPARATORS = re.compile(r"[;；]")  # only these: a comma or line break inside a cell is a mistake, never a split
YES = {"是", "Y", "YES", "TRUE", "1", "不发送", "跳过"}


@dataclass(frozen=True)
class Recipient:
    unit: str
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    skip: bool
    row: int


def read_address_book(book: Book, rules: Rules) -> list[Recipient]:
    """Every 考评单位 of the rules, each exactly once."""
    found = _read(book, ADDRESS_BOOK, ADDRESS_COLUMNS, rules.assessors)
    return [found[unit] for unit in rules.assessors]


def read_departments(book: Book) -> list[Recipient]:
    """The 科室 staff listed, in their order (any name: 科室 are the office's own)."""
    return list(_read(book, DEPARTMENTS, DEPARTMENT_COLUMNS, None).values())


def _read(book: Book, sheet: str, columns: tuple[str, ...], known: list[str] | None) -> dict[str, Recipient]:
    rows = iter(book.grids((sheet,))[sheet])
    errors = header_errors(sheet, columns, next(rows, []))
    if errors:
        raise InputErrors(errors)
    found: dict[str, Recipient] = {}
    for row_no, row in enumerate(rows, start=2):
        cells = [as_text(v) for v in (row + [""] * 5)[:5]]
        if not any(cells):
            continue
        recipient, problems = _recipient(cells, row_no, sheet, columns[0], known, found)
        errors += problems
        found.setdefault(recipient.unit, recipient)
    for unit in known or ():
        if unit not in found:
            errors.append(f"{sheet}!A:A: 缺少{columns[0]}“{unit}”（不发给该单位请在“不发送”列填“是”）")
    if errors:
        raise InputErrors(errors)
    return found


def _recipient(cells: list[str], row_no: int, sheet: str, what_unit: str, known: list[str] | None,
               found: dict[str, Recipient]) -> tuple[Recipient, list[str]]:
    """One row and its problems, each named by its own cell. The unit counts as present even when
    the row has mistakes, so that it is not also reported missing."""
    unit, name, to, cc, skip = cells
    ref = lambda col: f"{sheet}!{col}{row_no}"  # noqa: E731
    errors = []
    for column, text, what in (("A", unit, what_unit), ("B", name, "收件人"), ("C", to, "邮箱"), ("D", cc, "抄送")):
        try:
            check_header_text(text, what)
        except UserError as exc:
            errors.append(f"{ref(column)}: {exc}")
    if errors and errors[0].startswith(ref("A")):
        pass  # the unit's own cell is already reported
    elif not unit:
        errors.append(f"{ref('A')}: {what_unit}不能为空")
    elif known is not None and unit not in known:
        errors.append(f"{ref('A')}: {what_unit}“{unit}”不在规则中（应为：{'、'.join(known)}）")
    elif unit in found:
        errors.append(f"{ref('A')}: {what_unit}“{unit}”重复（第 {found[unit].row} 行已有）")
    skipped = skip.upper() in YES
    boxes: dict[str, list[Mailbox]] = {}
    for column, text in (("C", to), ("D", cc)):
        boxes[column] = []
        if any(e.startswith(ref(column)) for e in errors):
            continue
        for address in filter(None, (a.strip() for a in SEPARATORS.split(text))):
            try:
                boxes[column].append(Mailbox(name if column == "C" else "", check_address(address, "邮箱")))
            except UserError as exc:
                errors.append(f"{ref(column)}: {exc}（多个邮箱请用分号“;”分隔）")
    if not skipped and not boxes["C"] and not any(e.startswith(ref("C")) for e in errors):
        errors.append(f"{ref('C')}: 邮箱不能为空（不发给该{what_unit[-2:]}请在“不发送”列填“是”）")
    return Recipient(unit, tuple(boxes["C"]), tuple(boxes["D"]), skipped, row_no), errors
