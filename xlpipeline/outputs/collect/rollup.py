"""The city table from the submissions, with pandas: which submissions count (one year, one per
unit, the latest), units × items, block scores and totals by the engine's rule, ranks with ties,
and per-item and per-block statistics."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd

from xlpipeline.outputs.collect.submission import ROLLUP, Problem, Submission
from xlpipeline.outputs.report import groups
from xlpipeline.rules import Rules
from xlpipeline.scoring.engine import ItemResult, cents, sum_up

ZERO = Decimal(0)


@dataclass(frozen=True)
class Scope:
    """The items a roll-up covers: all of them, or those one 考评单位 assesses."""
    assessor: str | None
    items: tuple[int, ...]
    blocks: tuple[str, ...]

    @classmethod
    def of(cls, rules: Rules, assessor: str | None) -> Scope:
        items = tuple(i.no for i in rules.items) if assessor is None else tuple(groups(rules, "考评单位")[assessor])
        blocks = tuple(dict.fromkeys(rules.item(no).block for no in items))
        return cls(assessor, items, blocks)

    def needed(self, rules: Rules) -> set[int]:
        """Items whose amounts the scope's block scores depend on."""
        return {no for b in self.blocks for no in rules.block(b).items} | set(self.items)


def choose_year(submissions: list[Submission]) -> int | None:
    """The year most submissions carry (the later one on a tie)."""
    years = Counter(s.year for s in submissions if s.year is not None)
    return max(years, key=lambda y: (years[y], y)) if years else None


def counted(submissions: list[Submission], rules: Rules, scope: Scope) -> tuple[list[Submission], list[Problem]]:
    """The submissions that count, one per unit, and a problem for each that does not or is flagged."""
    problems: list[Problem] = []
    usable = []
    for s in submissions:
        missing = sorted(scope.needed(rules) - set(s.amounts))
        if s.year is not None and s.year != rules.year:
            problems.append(Problem(s.source.label, f"{s.unit}：考评年度为 {s.year}，与汇总年度 {rules.year} 不同，未计入",
                                    False))
        elif missing:
            problems.append(Problem(s.source.label, f"{s.unit}：表格缺少第{'、'.join(map(str, missing))}项，未计入", False))
        else:
            if s.year is None:
                s.flags.append(f"表格中没有考评年度，按 {rules.year} 年计")
            usable.append(s)
    by_unit: dict[str, list[Submission]] = {}
    for s in usable:
        by_unit.setdefault(s.unit, []).append(s)
    chosen = []
    for unit, group in by_unit.items():
        # the latest 填报日期, then the latest file; of one submission's copies, an attachment before a roll-up's
        group.sort(key=lambda s: (s.report_date or date.min, s.basis != ROLLUP, s.source.time), reverse=True)
        latest = group[0]
        chosen.append(latest)
        seen = {latest.identity}
        for other in group[1:]:
            if other.identity in seen:
                continue  # another attachment (or a roll-up's copy) of the same submission
            seen.add(other.identity)
            when = latest.report_date.isoformat() if latest.report_date else "更晚"
            problems.append(Problem(other.source.label, f"{unit}：重复提交，已采用填报日期 {when} 的"
                                    f"“{latest.source.label}”，此份未计入", False))
    for s in chosen:
        problems += [Problem(s.source.label, f"{s.unit}：{flag}", True) for flag in s.flags]
    return chosen, problems


def unit_table(chosen: list[Submission], rules: Rules, scope: Scope) -> pd.DataFrame:
    """One row per unit, ranked: the scope's item amounts, block scores, bonus, total, rank."""
    rows = []
    has_bonus = any(rules.item(no).kind == "bonus" for no in scope.items)
    for s in chosen:
        items = tuple(ItemResult(i.no, i.kind, s.amounts.get(i.no, ZERO)) for i in rules.items)
        blocks, bonus, _ = sum_up(rules, items)
        scores = {b.id: b.score for b in blocks if b.id in scope.blocks}
        bonus = bonus if has_bonus else ZERO
        row = {"unit": s.unit, "year": rules.year, "report_date": s.report_date, "source": s.source.label,
               "basis": s.basis, "bonus": bonus, "total": sum(scores.values(), ZERO) + bonus,
               "deduction": sum((items[no - 1].amount for no in scope.items if items[no - 1].kind != "bonus"), ZERO)}
        row.update({("item", no): s.amounts[no] for no in scope.items})
        row.update({("block", b): scores[b] for b in scope.blocks})
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["rank"] = table["total"].map(lambda t: int(t * 100)).rank(method="min", ascending=False).astype(int)
    return table.sort_values(["rank", "unit"], kind="stable").reset_index(drop=True)


def item_table(chosen: list[Submission], table: pd.DataFrame, rules: Rules, scope: Scope) -> pd.DataFrame:
    """Per item: units with a deduction, mean and largest, the most frequent 情形代码 (most cases,
    then the code that sorts first) and how many units had it."""
    cases = pd.DataFrame([(s.unit, c.get("code")) for s in chosen for c in s.cases if c.get("code") in rules.codes],
                         columns=["unit", "code"])
    cases["item"] = cases["code"].map(lambda code: rules.codes[code].item)
    counts = cases.groupby(["item", "code"])["unit"].agg(["size", "nunique"]).reset_index()
    top = counts.sort_values(["item", "size", "code"], ascending=[True, False, True]).drop_duplicates("item")
    top = top.set_index("item")
    rows = []
    for no in scope.items:
        amounts = list(table[("item", no)]) if not table.empty else []
        code = top.at[no, "code"] if no in top.index else ""
        rows.append({"no": no, "kind": rules.item(no).kind, "units": sum(1 for a in amounts if a > 0),
                     "mean": cents(sum(amounts, ZERO) / len(amounts)) if amounts else ZERO,
                     "max": max(amounts, default=ZERO), "code": code,
                     "code_label": rules.codes[code].label if code else "",
                     "code_units": int(top.at[no, "nunique"]) if code else 0})
    return pd.DataFrame(rows)


def block_table(table: pd.DataFrame, rules: Rules, scope: Scope) -> pd.DataFrame:
    """Per block: the deductions of all units together, and the mean score."""
    rows = []
    for b in scope.blocks:
        block = rules.block(b)
        scores = list(table[("block", b)]) if not table.empty else []
        rows.append({"block": b, "span": f"{block.items[0]}–{block.items[-1]}" if len(block.items) > 1
                     else str(block.items[0]), "points": block.points,
                     "deduction": sum((block.points - s for s in scores), ZERO),
                     "mean": cents(sum(scores, ZERO) / len(scores)) if scores else ZERO})
    return pd.DataFrame(rows)
