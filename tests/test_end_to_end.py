"""init → cases typed into 扣分台账 → `score --json` gives what rules-2026.md defines, for random logs.

The oracle below is written straight from rules-2026.md, independently of the engine: per code
the sum capped by the code's cap, per item the sum capped by the item's cap, then the item-17 and
item-21 conversions, the block floor and the bonus cap.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlpipeline.rules import load_rules

RULES = load_rules(2026)
CODES = sorted(RULES.codes)


def oracle(rows, satisfaction, rank) -> dict[int, Decimal]:
    per_code: dict[str, Decimal] = {}
    for _, _, code, count, modifier in rows:
        factor = {"非市管干部": Decimal("0.5"), "主动查处": Decimal(0), "办公厅名义": Decimal("0.5")}.get(modifier, 1)
        per_code[code] = per_code.get(code, Decimal(0)) + RULES.codes[code].points * count * factor
    items = {}
    for item in RULES.items:
        total = sum((min(v, RULES.codes[c].cap or v) for c, v in per_code.items() if RULES.codes[c].item == item.no),
                    Decimal(0))
        items[item.no] = min(total, item.cap) if item.cap is not None else Decimal(0)
    items[21] = min(Decimal(5), Decimal("0.5") * max(0, rank - 5)) if rank else Decimal(0)
    remaining = 20 - sum(items[n] for n in range(11, 17))
    if satisfaction is not None:
        items[17] = (remaining * (1 - satisfaction / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return items


@st.composite
def rows(draw):
    code = draw(st.sampled_from(CODES))
    allowed = RULES.codes[code].modifiers
    modifier = draw(st.sampled_from(allowed)) if allowed and draw(st.booleans()) else None
    when = draw(st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    spelled = draw(st.sampled_from([code, RULES.codes[code].display, code.lower()]))
    return (when, draw(st.sampled_from([None, RULES.codes[code].item])), spelled, draw(st.integers(1, 12)), modifier)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rows(), max_size=40), st.none() | st.decimals(0, 100, places=1), st.none() | st.integers(1, 20))
def test_score_json_matches_the_rules(cli, make_workbook, log, satisfaction, rank):
    path = make_workbook(log, satisfaction=None if satisfaction is None else float(satisfaction), rank=rank)
    status, out, err = cli("score", path, "--json", "--dry-run")
    assert status == 0, err
    data = json.loads(out)
    normalized = [(w, i, s.split()[0].upper(), n, m) for w, i, s, n, m in log]
    expected = oracle(normalized, satisfaction, rank)
    assert {i["no"]: Decimal(i["deduction"]) for i in data["items"]} == {n: expected[n] for n in range(1, 22)}
    blocks = [max(Decimal(0), b.points - sum(expected[n] for n in b.items if n != 22)) for b in RULES.blocks]
    assert [Decimal(b["score"]) for b in data["blocks"]] == blocks
    assert Decimal(data["bonus"]) == min(Decimal(2), expected[22])
    assert Decimal(data["total"]) == sum(blocks) + min(Decimal(2), expected[22])
