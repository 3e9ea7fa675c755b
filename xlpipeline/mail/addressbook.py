"""The 通讯录 sheet: who receives each 考评单位's attachment."""
from __future__ import annotations

import re
from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from xlpipeline.book import Book
from xlpipeline.errors import InputErrors, UserError
from xlpipeline.layout import ADDRESS_BOOK, ADDRESS_COLUMNS
from xlpipeline.ledger import as_text
from xlpipeline.mail.message import Mailbox, check_address, check_header_text
from xlpipeline.rules import Rules

SEPARATORS = re.compile(r"[;,，；、\s]+")
YES = {"是", "Y", "YES", "TRUE", "1", "不发送", "跳过"}


@dataclass(frozen=True)
class Recipient:
    unit: str
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    skip: bool
    row: int


def read_address_book(book: Book, rules: Rules) -> list[Recipient]:
    grid = book.grids((ADDRESS_BOOK,))[ADDRESS_BOOK]
    errors: list[str] = []
    header = [as_text(v) for v in (grid[0] if grid else [])]
    for col, title in enumerate(ADDRESS_COLUMNS):
        actual = header[col] if col < len(header) else ""
        if actual != title:
            errors.append(f"{ADDRESS_BOOK}!{get_column_letter(col + 1)}1: 表头应为“{title}”，实际为“{actual}”")
    if errors:
        raise InputErrors(errors)
    known = rules.assessors
    found: dict[str, Recipient] = {}
    for row_no, row in enumerate(grid[1:], start=2):
        unit, name, to, cc, skip = [as_text(v) for v in (row + [""] * 5)[:5]]
        if not any((unit, name, to, cc, skip)):
            continue
        ref = lambda col: f"{ADDRESS_BOOK}!{col}{row_no}"  # noqa: E731
        try:
            check_header_text(unit, "考评单位")
            check_header_text(name, "收件人")
        except UserError as exc:
            errors.append(f"{ref('A')}: {exc}")
            continue
        if unit not in known:
            errors.append(f"{ref('A')}: 考评单位“{unit}”不在规则中（应为：{'、'.join(known)}）")
            continue
        if unit in found:
            errors.append(f"{ref('A')}: 考评单位“{unit}”重复（第 {found[unit].row} 行已有）")
            continue
        skipped = skip.upper() in YES
        boxes = {}
        for column, text in (("C", to), ("D", cc)):
            boxes[column] = []
            for address in filter(None, SEPARATORS.split(text)):
                try:
                    boxes[column].append(Mailbox(name if column == "C" else "", check_address(address, "邮箱")))
                except UserError as exc:
                    errors.append(f"{ref(column)}: {exc}")
        if not skipped and not boxes["C"] and not any(e.startswith(ref("C")) for e in errors):
            errors.append(f"{ref('C')}: 邮箱不能为空（不发给该单位请在“不发送”列填“是”）")
        found[unit] = Recipient(unit, tuple(boxes["C"]), tuple(boxes["D"]), skipped, row_no)
    for unit in known:
        if unit not in found:
            errors.append(f"{ADDRESS_BOOK}!A:A: 缺少考评单位“{unit}”（不发给该单位请在“不发送”列填“是”）")
    if errors:
        raise InputErrors(errors)
    return [found[unit] for unit in known]
