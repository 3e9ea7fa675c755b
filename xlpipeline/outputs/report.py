"""What the 附件1 template is filled with: the scored workbook as plain names, whole or by group.

Names a template can use — top level: attachment, title, unit, year, today (text), report_date (a date), group, group_label,
items, points_total, score_total, total_label, total_note, bonus, total, and the 扣分明细 lists below.
Each of `items`: no, indicator, indicator_key, method, points, block, assessors, work, department,
leader, duty_key, deduction (a number; for the bonus item its points as text "+1.50"), block_score,
explanation. For 扣分明细: `cases` (the deduction cases) and `bonus_cases`, each with item, date,
code, label, count, modifier, counted, note, reference, department, row; `parameter_lines` (items 17
and 21 when they cost points: item, text, amount); `bonus_total` ([the bonus] or []);
`nothing_deducted` ("无扣分记录" or "").
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from xlpipeline.scoring.engine import Results, money
from xlpipeline.names import BY_DEPARTMENT, GROUPINGS, NO_DEPARTMENT
from xlpipeline.scoring.explain import explanations
from xlpipeline.rules import Rules



def _span_of(spans, no: int) -> tuple[int, object]:
    return next((i, s) for i, s in enumerate(spans) if s.first <= no <= s.last)


def groups(rules: Rules, by: str) -> dict[str, list[int]]:
    """Group name → item numbers, in table order, by a column of the form. An item with several
    考评单位 is in each."""
    if by not in GROUPINGS or by == BY_DEPARTMENT:
        raise ValueError(by)
    found: dict[str, list[int]] = {}
    for item in rules.items:
        if by == "考评单位":
            names = rules.block_of(item.no).assessors
        elif by == "考评指标":
            names = (_span_of(rules.indicators, item.no)[1].text,)
        else:
            span = _span_of(rules.responsibilities, item.no)[1]
            names = (span.text if by == "任务清单责任科室" else span.extra,)
        for name in names:
            found.setdefault(name, []).append(item.no)
    return found


def department_groups(results: Results) -> dict[str, list[int]]:
    """责任科室 (as logged with each case) → the items its cases touch; departments in the order the
    log first names them, cases logged without one last."""
    logged = sorted((c.case.row, c.case.department or NO_DEPARTMENT, i.no) for i in results.items for c in i.cases)
    found: dict[str, set[int]] = {}
    for _, department, no in logged:
        found.setdefault(department, set()).add(no)
    return {d: sorted(found[d]) for d in sorted(found, key=lambda d: d == NO_DEPARTMENT)}


def department_context(rules: Rules, results: Results, department: str,
                       today: date | None = None) -> tuple[dict, Decimal]:
    """The template's names for one 责任科室: the items its cases touch, each with what those cases
    cost after the caps (the department's share of the item) and their 扣分说明, only its cases in
    扣分明细, and no block scores (blocks belong to the whole unit); and what it deducted in all."""
    mine = lambda c: (c.case.department or NO_DEPARTMENT) == department  # noqa: E731
    share = {}
    for item in results.items:
        cases = tuple(c for c in item.cases if mine(c))
        if cases:
            share[item.no] = replace(item, cases=cases, dropped=0,
                                     amount=sum((c.counted for c in cases), Decimal(0)))
    theirs = replace(results, items=tuple(share.get(i.no, i) for i in results.items))
    values = context(rules, theirs, list(share), group=department, group_label=BY_DEPARTMENT, today=today)
    deducted = sum((i.amount for i in share.values() if i.kind != "bonus"), Decimal(0))
    added = sum((i.amount for i in share.values() if i.kind == "bonus"), Decimal(0))
    for row in values["items"]:
        row["block_score"] = None
    values.update(points_total="", score_total=None, bonus=added, bonus_total=[added] if added else [],
                  total_note=f"本科室扣分合计 {money(deducted)}（全单位扣分 {money(results.deduction)}）"
                             + (f"，加分 {money(added)}" if added else ""))
    return values, deducted


def context(rules: Rules, results: Results, items: list[int] | None = None, group: str | None = None,
            group_label: str | None = None, today: date | None = None,
            texts: dict[int, str] | None = None) -> dict:
    """The template's names, for all items or the given ones; `texts`, the 扣分说明 if already made
    (a batch makes them once for all its groups)."""
    numbers = items or [i.no for i in rules.items]
    texts = texts or explanations(rules, results)
    rows = [_item(rules, results, texts, no) for no in numbers]
    blocks = {rules.item(no).block for no in numbers}
    has_bonus = any(rules.item(no).kind == "bonus" for no in numbers)
    block_scores = sum((b.score for b in results.blocks if b.id in blocks), Decimal(0))
    points = sum((b.points for b in rules.blocks if b.id in blocks), Decimal(0))
    bonus = results.bonus if has_bonus else Decimal(0)
    whole = items is None
    return {
        "attachment": rules.attachment, "title": rules.fix(rules.title), "unit": results.unit,
        "year": results.year, "today": (today or date.today()).strftime("%Y年%m月%d日"),
        "report_date": today or date.today(),
        "group": group, "group_label": group_label, "items": rows,
        **_case_lists(rules, results, numbers, texts),
        "points_total": f"{points}分" + ("" if not has_bonus else f"+{rules.bonus_cap}"),
        "score_total": block_scores + bonus, "bonus": bonus, "total": results.total,
        "total_label": "合计" if whole else "小计",
        "total_note": (f"总分 {money(results.total)}（含加分 {money(results.bonus)}）" if whole else
                       f"所涉分块得分合计 {money(block_scores)}" + (f"，加分 {money(bonus)}" if has_bonus else "")),
    }


def _item(rules: Rules, results: Results, texts: dict[int, str], no: int) -> dict:
    item, result = rules.item(no), results.item(no)
    block = rules.block_of(no)
    indicator_key, indicator = _span_of(rules.indicators, no)
    duty_key, duty = _span_of(rules.responsibilities, no)
    score = next(b.score for b in results.blocks if b.id == block.id)
    return {
        "no": no, "indicator": rules.fix(indicator.text), "indicator_key": indicator_key,
        "method": rules.fix(item.method), "points": f"{block.points}分", "block": block.id,
        "assessors": "\n".join(block.assessors), "work": rules.fix(item.work),
        "department": duty.text, "leader": duty.extra, "duty_key": duty_key,
        "deduction": f"+{money(result.amount)}" if item.kind == "bonus" else result.amount,
        "block_score": score, "explanation": texts[no],
    }


def _case_lists(rules: Rules, results: Results, numbers: list[int], texts: dict[int, str]) -> dict:
    """扣分明细's lists: deduction cases, the 参数-based items a line each (with what they cost),
    bonus cases and (when there are any) the bonus total, and a note when nothing was deducted."""
    kinds = {no: rules.item(no).kind for no in numbers}
    cases = [_case(rules, c) for no in numbers if kinds[no] == "deduction" for c in results.item(no).cases]
    lines = [{"item": no, "text": texts[no], "amount": results.item(no).amount}
             for no in numbers if kinds[no] in ("survey", "rank") and results.item(no).amount]
    bonus_cases = [_case(rules, c) for no in numbers if kinds[no] == "bonus" for c in results.item(no).cases]
    return {"cases": cases, "parameter_lines": lines, "bonus_cases": bonus_cases,
            "bonus_total": [results.bonus] if bonus_cases else [],
            "nothing_deducted": "" if cases or lines else "无扣分记录"}


def _case(rules: Rules, counted) -> dict:
    case = counted.case
    return {"item": rules.codes[case.code].item, "date": case.date, "code": case.code,
            "label": rules.codes[case.code].label, "count": case.count, "modifier": case.modifier,
            "counted": counted.counted, "note": case.note, "reference": case.reference,
            "department": case.department, "row": case.row}
