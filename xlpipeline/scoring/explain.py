"""扣分说明: one text per item from the jinja2 template kept with the rules data.

The template is data (staff may reword it), so it runs in jinja's sandbox.
"""
from __future__ import annotations

from functools import cache

from xlpipeline.scoring.engine import ItemResult, Results, money
from xlpipeline.errors import UserError
from xlpipeline.rules import Rules, explain_template_text


@cache
def _template():
    from xlpipeline.sandbox import BoundedSandbox  # here: `score --dry-run` and the UDFs' totals need no jinja
    return BoundedSandbox().from_string(explain_template_text())


def explanations(rules: Rules, results: Results) -> dict[int, str]:
    from xlpipeline.sandbox import FAILURES
    try:
        template = _template()
        template.environment.steps = 0
        return {r.no: template.render(_context(rules, r)).strip() for r in results.items}
    except FAILURES as exc:  # the template is data that staff may edit
        raise UserError(f"扣分说明模板（rules/explain.txt.j2）有误：{exc}") from None


def _context(rules: Rules, result: ItemResult) -> dict:
    item = rules.item(result.no)
    cases = []
    for c in result.cases:
        code = rules.codes[c.case.code]
        cases.append({
            "date": f"{c.case.date:%Y-%m-%d}", "code": code.code, "label": code.label,
            "count": c.case.count, "modifier": c.case.modifier, "reference": c.case.reference,
            "note": c.case.note, "points": money(c.points), "counted": money(c.counted),
            "cut_by": c.cut_by, "code_cap": money(code.cap) if code.cap is not None else None,
        })
    return {
        "item": {"no": item.no, "kind": item.kind},
        "verb": "加" if item.kind == "bonus" else "扣",
        "cases": cases,
        "uncounted": result.dropped,
        "amount": money(result.amount),
        "item_cap": money(item.cap) if item.cap is not None else None,
        "capped": item.cap is not None and result.amount == item.cap,
        "remaining": money(result.remaining) if result.remaining is not None else None,
        "satisfaction": result.satisfaction,
        "ranks": [{"label": r.label, "place": r.place} for r in result.ranks],
        "free_places": item.rank.free_places if item.rank else None,
        "per_place": money(item.rank.per_place) if item.rank else None,
    }
