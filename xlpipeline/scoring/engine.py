"""The scoring engine: validated cases + parameters + rules → exact results. No I/O.

Caps apply in the order rules-2026.md fixes: per-code cap → item cap → block floor → bonus cap.
Within a code or an item, cases use up a cap in date order (then log order), so the explanation
can say which case a cap cut.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from typing import NamedTuple

from xlpipeline.rules import Item, Rules

ZERO = Decimal(0)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def cents(amount: Decimal) -> Decimal:
    """Round half up to two decimals (四舍五入), the only rounding the rules allow."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money(amount: Decimal) -> str:
    return f"{cents(amount):.2f}"


class Case(NamedTuple):
    """One validated row of 扣分台账 (a tuple: logs have up to a hundred thousand of them)."""
    row: int
    date: datetime.date
    code: str
    count: int
    modifier: str | None = None
    note: str = ""
    reference: str = ""
    department: str = ""


class Rank(NamedTuple):
    """One provincial rank of item 21: the indicator's label in 参数, the place (blank as None)."""
    label: str
    place: int | None


@dataclass(frozen=True)
class Params:
    """The 参数 sheet: satisfaction in percent (0–100) and the provincial ranks, blank as None;
    `notes`: warnings found while reading it; `pending`: the log rows, valid here, that the
    workbook's live formulas do not count (待核对)."""
    unit: str
    year: int
    satisfaction: Decimal | None = None
    ranks: tuple[Rank, ...] = ()
    notes: tuple[str, ...] = ()
    pending: tuple[int, ...] = ()


class CaseResult(NamedTuple):
    case: Case
    points: Decimal        # after the modifier, before caps
    counted: Decimal       # what the caps left of it
    cut_by: str | None     # "code" or "item" when a cap cut it


@dataclass(frozen=True)
class ItemResult:
    no: int
    kind: str
    amount: Decimal        # deduction, or for a bonus item the points added
    cases: tuple[CaseResult, ...] = ()   # the cases that counted (or were meant to count nothing)
    dropped: int = 0                      # cases a cap left nothing of
    remaining: Decimal | None = None   # survey: points left in the block before the survey
    satisfaction: Decimal | None = None
    ranks: tuple[Rank, ...] = ()


@dataclass(frozen=True)
class BlockResult:
    id: str
    items: tuple[int, ...]
    points: Decimal
    score: Decimal


@dataclass(frozen=True)
class Results:
    unit: str
    year: int
    items: tuple[ItemResult, ...]
    blocks: tuple[BlockResult, ...]
    bonus: Decimal
    total: Decimal
    warnings: tuple[str, ...] = field(default=())
    pending: tuple[int, ...] = ()  # log rows the live formulas do not count (see Params)

    def item(self, no: int) -> ItemResult:
        return self.items[no - 1]

    @property
    def deduction(self) -> Decimal:
        return self.deduction_of(i.no for i in self.items)

    def deduction_of(self, numbers) -> Decimal:
        """What the given items deduct together (a bonus item adds, so it is left out)."""
        return sum((self.item(no).amount for no in numbers if self.item(no).kind != "bonus"), ZERO)

    def to_json(self) -> dict:
        return {
            "unit": self.unit,
            "year": self.year,
            "total": money(self.total),
            "bonus": money(self.bonus),
            "items": [{"no": i.no, "deduction": money(i.amount)} for i in self.items if i.kind != "bonus"],
            "blocks": [{"items": list(b.items), "points": money(b.points), "score": money(b.score)}
                       for b in self.blocks],
            "warnings": list(self.warnings),
        }


def score(rules: Rules, params: Params, cases: list[Case]) -> Results:
    item_of = {code.code: code.item for code in rules.codes.values()}
    by_item: dict[int, list[Case]] = {}
    for case in cases:
        by_item.setdefault(item_of[case.code], []).append(case)
    for group in by_item.values():
        group.sort(key=attrgetter("date", "row"))
    warnings: list[str] = list(params.notes)
    results: dict[int, ItemResult] = {}
    for item in rules.items:
        if item.kind in ("deduction", "bonus"):
            results[item.no] = _from_cases(rules, item, by_item.get(item.no, []))
        elif item.kind == "rank":
            results[item.no] = _from_rank(item, params.ranks, warnings)
        # survey items need the other items of their block first: see below
    for item in rules.items:
        if item.kind == "survey":
            results[item.no] = _from_survey(rules, item, results, params.satisfaction, warnings)
    items = tuple(results[i.no] for i in rules.items)
    return Results(params.unit, params.year, items, *sum_up(rules, items), tuple(warnings), params.pending)


def sum_up(rules: Rules, items: tuple[ItemResult, ...]) -> tuple[tuple[BlockResult, ...], Decimal, Decimal]:
    """Block scores (each floored at 0), the capped bonus and the total, from every item's amount."""
    blocks = tuple(_block(b, items) for b in rules.blocks)
    bonus = min(rules.bonus_cap, sum((i.amount for i in items if i.kind == "bonus"), ZERO))
    return blocks, bonus, sum((b.score for b in blocks), ZERO) + bonus


def _from_cases(rules: Rules, item: Item, cases: list[Case]) -> ItemResult:
    """Cases in date order use up the per-code caps, then the item cap. A case a cap left nothing
    of is only counted in `dropped`; once the item is full every later case is."""
    used_by_code: dict[str, Decimal] = {}
    used = ZERO
    kept = []
    dropped = 0
    for index, case in enumerate(cases):
        if used == item.cap:
            dropped += len(cases) - index
            break
        code = rules.codes[case.code]
        points = case_points(rules, case)
        counted, cut_by = points, None
        if code.cap is not None:
            room = code.cap - used_by_code.get(code.code, ZERO)
            if counted > room:
                counted, cut_by = room, "code"
            used_by_code[code.code] = used_by_code.get(code.code, ZERO) + counted
        if counted > item.cap - used:
            counted, cut_by = item.cap - used, "item"
        used += counted
        if counted or cut_by is None:
            kept.append(CaseResult(case, points, counted, cut_by))
        else:
            dropped += 1
    return ItemResult(item.no, item.kind, used, tuple(kept), dropped=dropped)


def case_points(rules: Rules, case: Case) -> Decimal:
    """A case's points before any cap: the code's points times the count, times the modifier's factor."""
    points = rules.codes[case.code].points * case.count
    return points * rules.modifiers[case.modifier].factor if case.modifier else points


def _from_rank(item: Item, ranks: tuple[Rank, ...], warnings: list[str]) -> ItemResult:
    """Each indicator's places below the free ones count; a blank rank counts nothing."""
    places_down = 0
    for rank in ranks:
        if rank.place is None:
            warnings.append(f"第{item.no}项：{rank.label}未填写，暂不计")
        else:
            places_down += max(0, rank.place - item.rank.free_places)
    return ItemResult(item.no, item.kind, min(item.cap, item.rank.per_place * places_down), ranks=ranks)


def _from_survey(rules: Rules, item: Item, results: dict[int, ItemResult],
                 satisfaction: Decimal | None, warnings: list[str]) -> ItemResult:
    block = rules.block_of(item.no)
    deducted = sum((results[no].amount for no in item.survey.deducted_items), ZERO)
    remaining = max(ZERO, block.points - deducted)
    if satisfaction is None:
        warnings.append(f"第{item.no}项：满意度测评未填写，暂不扣分")
        return ItemResult(item.no, item.kind, ZERO, remaining=remaining)
    amount = min(remaining, cents(remaining * (1 - satisfaction / HUNDRED)))
    return ItemResult(item.no, item.kind, amount, remaining=remaining, satisfaction=satisfaction)


def _block(block, items: tuple[ItemResult, ...]) -> BlockResult:
    deducted = sum((items[no - 1].amount for no in block.items if items[no - 1].kind != "bonus"), ZERO)
    return BlockResult(block.id, block.items, block.points, max(ZERO, block.points - deducted))
