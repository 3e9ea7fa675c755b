"""What the XLP_ worksheet functions compute, as plain functions over a book (see udfs.py).

A workbook full of these would read its log once per cell; instead the scored log is cached per
workbook, keyed on the log's content: within `FRESH_SECONDS` of a read (one recalculation) the
cache is used as it is; after that the log is read again and scored again only if it changed.
Bad arguments give an Excel error code with the reason, e.g. "#VALUE!：序号应为 1–22 的整数".
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from xlpipeline.workbook.book import Book
from xlpipeline.scoring.engine import Results, score
from xlpipeline.errors import InputErrors, UserError
from xlpipeline.scoring.explain import explanations
from xlpipeline.workbook.layout import LEDGER, PARAMS
from xlpipeline.scoring.ledger import code_text, read_book
from xlpipeline.rules import Rules

FRESH_SECONDS = 1.0


@dataclass
class _Scored:
    digest: int
    read_at: float
    rules: Rules | None = None
    results: Results | None = None
    error: str | None = None
    _texts: dict[int, str] | None = field(default=None, repr=False)

    def texts(self) -> dict[int, str]:
        if self._texts is None:
            self._texts = explanations(self.rules, self.results)
        return self._texts


class LogCache:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.entries: dict[str, _Scored] = {}

    def get(self, book: Book) -> _Scored:
        key = str(book.path)
        now = self.clock()
        entry = self.entries.get(key)
        if entry is not None and now - entry.read_at < FRESH_SECONDS:
            return entry
        grids = book.grids((LEDGER, PARAMS))
        digest = hash(tuple(tuple(map(tuple, grids[name])) for name in (LEDGER, PARAMS)))
        if entry is not None and entry.digest == digest:
            entry.read_at = now
            return entry
        entry = _Scored(digest, now)
        try:
            rules, params, cases = read_book(book, grids)
            entry.rules, entry.results = rules, score(rules, params, cases)
        except InputErrors as exc:
            entry.error = f"#VALUE!：工作簿有 {len(exc.messages)} 处输入错误（请点“校验台账”）：{exc.messages[0]}"
        self.entries[key] = entry
        return entry


CACHE = LogCache()


class _Bad(Exception):
    pass


def _item(entry: _Scored, item) -> int:
    count = len(entry.rules.items)
    if isinstance(item, bool) or not isinstance(item, (int, float)) or item != int(item) or not 1 <= item <= count:
        raise _Bad(f"#VALUE!：序号应为 1–{count} 的整数，实际为“{item}”")
    return int(item)


def _call(book: Book, compute):
    try:
        entry = CACHE.get(book)
    except UserError as exc:
        return f"#N/A：{exc}"
    if entry.error:
        return entry.error
    try:
        return compute(entry)
    except _Bad as exc:
        return str(exc)


def deduction(book: Book, item):
    """XLP_DEDUCTION(序号): the item's deduction (for the bonus item: the points added)."""
    return _call(book, lambda e: float(e.results.item(_item(e, item)).amount))


def block_score(book: Book, item):
    """XLP_SCORE(序号): the score of the block the item belongs to."""
    def compute(e: _Scored):
        block = e.rules.item(_item(e, item)).block
        return float(next(b.score for b in e.results.blocks if b.id == block))
    return _call(book, compute)


def total(book: Book):
    """XLP_TOTAL(): the total, bonus included."""
    return _call(book, lambda e: float(e.results.total))


def explain(book: Book, item):
    """XLP_EXPLAIN(序号): the item's 扣分说明."""
    return _call(book, lambda e: e.texts()[_item(e, item)])


def code_points(book: Book, code):
    """XLP_CODE_POINTS(情形代码): the points of one case of a code (the dropdown's text works too)."""
    def compute(e: _Scored):
        text = code_text(code)
        found = e.rules.codes.get(text)
        if found is None:
            raise _Bad(f"#N/A：情形代码“{text}”不存在")
        return float(found.points)
    return _call(book, compute)
