"""Properties of the engine over random logs (hypothesis)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import params
from xlpipeline.scoring.engine import Case, score
from xlpipeline.rules import load_rules

RULES = load_rules(2026)
CODES = sorted(RULES.codes)
BONUS = [c for c in CODES if RULES.item(RULES.codes[c].item).kind == "bonus"]
DEDUCTIONS = [c for c in CODES if c not in BONUS]


@st.composite
def cases(draw, codes=CODES):
    code = draw(st.sampled_from(codes))
    allowed = RULES.codes[code].modifiers
    modifier = draw(st.none() | st.sampled_from(allowed)) if allowed else None
    return Case(row=draw(st.integers(2, 10_000)), date=draw(st.dates(date(2026, 1, 1), date(2026, 12, 31))),
                code=code, count=draw(st.integers(1, 40)), modifier=modifier)


satisfactions = st.none() | st.decimals(0, 100, places=2)
ranks = st.none() | st.integers(1, 60)


@settings(max_examples=300, deadline=None)
@given(st.lists(cases(), max_size=40), satisfactions, ranks)
def test_bounds(log, satisfaction, rank):
    results = score(RULES, params(satisfaction, rank), log)
    assert all(b.score >= 0 for b in results.blocks)
    assert 0 <= results.bonus <= 2
    assert 0 <= results.total <= 102
    assert results.total == sum(b.score for b in results.blocks) + results.bonus


@settings(max_examples=300, deadline=None)
@given(st.lists(cases(), max_size=40), cases(DEDUCTIONS), satisfactions, ranks)
def test_adding_a_deduction_never_raises_the_total(log, extra, satisfaction, rank):
    before = score(RULES, params(satisfaction, rank), log).total
    after = score(RULES, params(satisfaction, rank), log + [extra]).total
    assert after <= before


@settings(max_examples=300, deadline=None)
@given(st.lists(cases(), max_size=40), cases(BONUS), satisfactions, ranks)
def test_adding_a_bonus_never_lowers_the_total(log, extra, satisfaction, rank):
    before = score(RULES, params(satisfaction, rank), log).total
    after = score(RULES, params(satisfaction, rank), log + [extra]).total
    assert after >= before


@settings(max_examples=200, deadline=None)
@given(st.lists(cases(), max_size=30), satisfactions, ranks)
def test_amounts_are_exact_cents(log, satisfaction, rank):
    results = score(RULES, params(satisfaction, rank), log)
    for item in results.items:
        assert item.amount == item.amount.quantize(Decimal("0.01")), item
