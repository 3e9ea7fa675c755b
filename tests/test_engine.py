"""The engine against rules-2026.md: worked examples, every code, caps, modifiers, conversions."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from conftest import case, params
from xlpipeline.scoring.engine import score

D = Decimal


def deduction(rules, *cases, satisfaction=None, rank=None, item=None):
    results = score(rules, params(satisfaction, rank), list(cases))
    return results if item is None else results.item(item).amount


# --- worked examples of rules-2026.md ---------------------------------------------------------

def test_item1_per_level_caps(rules):
    assert deduction(rules, case("1.A"), case("1.B", 3), item=1) == D("4.00")


def test_item9_capped_at_3(rules):
    assert deduction(rules, case("9.D", 31), item=9) == D("3")


def test_item12_modifiers(rules):
    assert deduction(rules, case("12.B", modifier="非市管干部"), item=12) == D("0.50")
    assert deduction(rules, case("12.C", modifier="主动查处"), item=12) == D("0.00")


def test_block_f_with_survey(rules):
    results = deduction(rules, case("11.C", 2), case("13.A", 5), satisfaction=D(90))
    assert results.item(11).amount == 4 and results.item(13).amount == 2
    assert results.item(17).amount == D("1.40")
    assert results.item(17).remaining == 14
    assert next(b for b in results.blocks if b.id == "F").score == D("12.60")


@pytest.mark.parametrize("rank, expected", [(1, "0"), (5, "0"), (6, "0.5"), (9, "2.00"), (15, "5"), (30, "5.00"),
                                            ((7, 8), "2.50"), ((9, None), "2.00"), ((None, 9), "2.00"),
                                            ((12, 12), "5.00"), ((5, 5), "0"), ((None, None), "0")])
def test_item21_two_ranks(rules, rank, expected):
    """rules-2026.md: 0.5 × (places below fifth of both indicators), at most 5; a blank one counts nothing."""
    assert deduction(rules, rank=rank, item=21) == D(expected)


def test_item21_blank_rank_warns_naming_it(rules):
    results = deduction(rules, rank=(7, None))
    assert "第21项：全省排名（单位职能业务综合指标）未填写，暂不计" in results.warnings
    assert not any("上级主管部门考核指标" in w for w in results.warnings)


@pytest.mark.parametrize("code, count, expected", [("4.A", 3, "1.00"), ("4.A", 2, "1.00"), ("14.B", 2, "0.50"),
                                                   ("15.B", 2, "0.50"), ("4.B", 3, "0.50")])
def test_one_off_duties_are_capped(rules, code, count, expected):
    """4.A at most two missed analyses a year; 14.B and 15.B worded like 4.B (rules-2026.md [choice])."""
    assert deduction(rules, case(code, count), item=int(code.split(".")[0])) == D(expected)


def test_item22_bonus_capped(rules):
    results = deduction(rules, case("22.A", modifier="办公厅名义"), case("22.C"), case("22.D"))
    assert results.item(22).amount == D("2")  # item cap +2 reached: 1 + 1, then 22.D cut
    assert results.bonus == D("2.00")
    assert results.total == D("102")


# --- every code --------------------------------------------------------------------------------

def test_every_code_alone_costs_its_points(rules):
    for code in rules.codes.values():
        results = deduction(rules, case(code.code))
        assert results.item(code.item).amount == code.points, code.code
        expected_total = D(100) + code.points if rules.item(code.item).kind == "bonus" else D(100) - code.points
        assert results.total == expected_total, code.code


def test_every_code_cap_holds(rules):
    for code in rules.codes.values():
        amount = deduction(rules, case(code.code, 100), item=code.item)
        limit = min(c for c in (code.cap, rules.item(code.item).cap) if c is not None)
        assert amount == limit, code.code


def test_exact_decimals(rules):
    assert deduction(rules, case("9.D", 3), item=9) == D("0.3")
    assert str(score(rules, params(), [case("9.D", 3)]).to_json()["items"][8]["deduction"]) == "0.30"


# --- caps and their order ---------------------------------------------------------------------

def test_triad_without_per_level_cap_uses_item_cap(rules):
    assert deduction(rules, case("4.C", 3), item=4) == D(6)       # no per-level cap on item 4
    assert deduction(rules, case("4.C", 5), item=4) == D(8)       # item cap 8
    assert deduction(rules, case("2.B", 3), item=2) == D(2)       # per-level cap 2 on item 2


def test_code_cap_is_per_year_not_per_row(rules):
    amount = deduction(rules, case("4.B", when=date(2026, 2, 1)), case("4.B", when=date(2026, 9, 1), row=3), item=4)
    assert amount == D("0.5")


def test_cap_cut_falls_on_the_later_case(rules):
    results = deduction(rules, case("13.A", 3, when=date(2026, 9, 1), row=2), case("13.A", 2, when=date(2026, 1, 5), row=3))
    first, second = results.item(13).cases
    assert first.case.date == date(2026, 1, 5) and first.counted == 1 and first.cut_by is None
    assert second.points == D("1.5") and second.counted == 1 and second.cut_by == "item"


def test_code_cap_then_item_cap(rules):
    results = deduction(rules, case("1.A", 2), case("1.B", 2, row=3), case("1.C", 4, row=4))
    counted = [c.counted for c in results.item(1).cases]
    assert counted == [2, 2, 1]  # 1.A 4→2 (code cap), 1.B 2, 1.C 2→1 (item cap 5)
    assert [c.cut_by for c in results.item(1).cases] == ["code", None, "item"]


def test_modifier_applies_before_caps(rules):
    assert deduction(rules, case("12.D", 4, modifier="非市管干部"), item=12) == D(5)  # 6 → cap 5
    assert deduction(rules, case("12.D", 3, modifier="非市管干部"), item=12) == D("4.5")


def test_block_never_below_zero_and_full_block(rules):
    everything = [case(code.code, 100, row=i) for i, code in enumerate(rules.codes.values()) if code.item != 22]
    results = deduction(rules, *everything, satisfaction=D(0), rank=99)
    assert all(b.score == 0 for b in results.blocks)
    assert results.total == 0


def test_a_case_that_exactly_fills_a_cap_is_not_cut(rules):
    (exact,) = deduction(rules, case("9.D", 30)).item(9).cases          # 30 × 0.1 = the item cap 3
    assert exact.counted == 3 and exact.cut_by is None
    (exact,) = deduction(rules, case("1.A")).item(1).cases               # 2 points, the code cap 2
    assert exact.counted == 2 and exact.cut_by is None


# --- floors and caps that the 2026 rules cannot reach (rules loading keeps item caps within their
# blocks and item 22's cap equal to the bonus cap), checked on rules changed past that ---------------

def with_block_points(rules, block_id, points):
    blocks = tuple(replace(b, points=D(points)) if b.id == block_id else b for b in rules.blocks)
    return replace(rules, blocks=blocks)


def test_a_block_smaller_than_its_deductions_scores_zero(rules):
    small = with_block_points(rules, "A", 3)
    results = score(small, params(D(100), (1, 1)), [case("1.A", 2), case("2.A", 2, row=3)])  # 4 + 2 = 6 > 3
    assert results.blocks[0].score == 0 and results.total == 100 - rules.block("A").points


def test_the_survey_converts_what_remains_and_never_less_than_nothing(rules):
    block = rules.block_of(17).id
    small = with_block_points(rules, block, 2)
    results = score(small, params(D(50), (1, 1)), [case("11.C", 3)])  # item 11 deducts more than 2
    assert results.item(17).remaining == 0 and results.item(17).amount == 0


def test_the_bonus_cap_applies_to_the_bonus_items_together(rules):
    lower = replace(rules, bonus_cap=D(1))
    results = score(lower, params(D(100), (1, 1)), [case("22.A", modifier="办公厅名义"), case("22.C", row=3)])
    assert results.item(22).amount == 2 and results.bonus == 1 and results.total == 101


# --- conversions ------------------------------------------------------------------------------

def test_survey_rounds_half_up(rules):
    # remaining 17, 93.5% → 17 × 0.065 = 1.105 → 1.11 (half up, not half even)
    results = deduction(rules, case("11.A"), case("12.G", row=3), case("13.A", row=4), case("15.B", row=5),
                        case("12.B", modifier="非市管干部", row=6), satisfaction=D("93.5"))
    assert results.item(17).remaining == 17
    assert results.item(17).amount == D("1.11")


def test_survey_never_more_than_remaining(rules):
    results = deduction(rules, case("11.C", 3), satisfaction=D(0))
    assert results.item(17).amount == results.item(17).remaining == 15


def test_survey_full_marks_and_blank(rules):
    assert deduction(rules, satisfaction=D(100), item=17) == 0
    results = deduction(rules)
    assert results.item(17).amount == 0 and results.item(21).amount == 0
    assert len(results.warnings) == 3 and all("未填写" in w for w in results.warnings)


def test_empty_log_is_full_marks(rules):
    results = deduction(rules, satisfaction=D(100), rank=(1, 5))
    assert results.total == 100 and results.bonus == 0 and not results.warnings


def test_json_shape(rules):
    data = deduction(rules, case("9.D", 3), satisfaction=D(95), rank=6).to_json()
    assert set(data) == {"unit", "year", "total", "bonus", "items", "blocks", "warnings"}
    assert [i["no"] for i in data["items"]] == list(range(1, 22))
    assert data["blocks"][0] == {"items": [1, 2], "points": "10.00", "score": "10.00"}
    assert data["total"] == "98.20"  # 100 − 0.30 − 20 × 5% − 0.50
    assert all(len(i["deduction"].split(".")[1]) == 2 for i in data["items"])
