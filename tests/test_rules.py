"""The 2026 rules data: complete, faithful to the official table, and validated on load."""
from __future__ import annotations

import re
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from conftest import missing
from xlpipeline.rules import RulesError, load_rules, parse_rules

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "附件1_市散墙办创建模范机关任务清单.txt"
SOURCE = (resources.files("xlpipeline.rules") / "2026.toml").read_text(encoding="utf-8")


def test_shape(rules):
    assert len(rules.items) == 22
    assert [(b.id, b.items[0], b.items[-1], b.points) for b in rules.blocks] == [
        ("A", 1, 2, 10), ("B", 3, 3, 10), ("C", 4, 5, 15), ("D", 6, 9, 15), ("E", 10, 10, 5),
        ("F", 11, 17, 20), ("G", 18, 22, 25)]
    assert sum(b.points for b in rules.blocks) == 100
    assert rules.bonus_cap == 2 and rules.max_total == 102
    assert len(rules.codes) == 62
    assert [i.no for i in rules.items if i.kind != "deduction"] == [17, 21, 22]


def test_codes_match_rules_2026_md(rules):
    """The code table of rules-2026.md, transcribed independently here."""
    table = ("1.A 2 2|1.B 1 2|1.C 0.5 2|2.A 1 -|2.B 2 2|2.C 1 2|2.D 0.5 2|3.A 0.5 -|3.B 2 2|3.C 1 2|3.D 0.5 2|"
             "4.A 0.5 1|4.B 0.5 0.5|4.C 2 -|4.D 1 -|4.E 0.5 -|5.A 0.5 -|5.B 0.5 -|5.C 2 -|5.D 1 -|5.E 0.5 -|"
             "6.A 1 -|6.B 1 -|7.A 0.5 -|7.B 1 -|8.A 0.5 -|8.B 1 -|9.A 0.5 -|9.B 1 -|9.C 2 -|9.D 0.1 -|"
             "10.A 1 -|10.B 0.5 -|10.C 2 -|10.D 1 -|10.E 0.5 -|11.A 0.5 -|11.B 1 -|11.C 2 -|12.A 0.5 -|12.B 1 -|"
             "12.C 2 -|12.D 3 -|12.E 3 -|12.F 2 -|12.G 1 -|13.A 0.5 -|14.A 0.5 -|14.B 0.5 0.5|15.A 0.5 -|15.B 0.5 0.5|"
             "16.A 2 2|18.A 1 -|19.A 2 -|19.B 1 -|20.A 1 -|20.B 2 -|20.C 3 -|22.A 2 -|22.B 1 -|22.C 1 -|22.D 0.5 -")
    expected = {}
    for entry in table.split("|"):
        code, points, cap = entry.split()
        expected[code] = (Decimal(points), None if cap == "-" else Decimal(cap))
    assert {c: (v.points, v.cap) for c, v in rules.codes.items()} == expected
    caps = {1: 5, 2: 5, 3: 10, 4: 8, 5: 7, 6: 4, 7: 4, 8: 4, 9: 3, 10: 5, 11: 5, 12: 5, 13: 2, 14: 3, 15: 3, 16: 2,
            18: 10, 19: 5, 20: 5, 21: 5, 22: 2}
    assert {i.no: i.cap for i in rules.items if i.cap is not None} == caps


def test_modifiers(rules):
    assert {m.name: (m.factor, m.codes) for m in rules.modifiers.values()} == {
        "非市管干部": (Decimal("0.5"), ("12.A", "12.B", "12.C", "12.D")),
        "主动查处": (Decimal(0), ("12.A", "12.B", "12.C", "12.D")),
        "办公厅名义": (Decimal("0.5"), ("22.A", "22.B", "22.C", "22.D")),
    }
    assert rules.codes["12.A"].modifiers == ("非市管干部", "主动查处")
    assert rules.codes["12.E"].modifiers == ()


def test_conversions(rules):
    assert rules.item(17).survey.deducted_items == (11, 12, 13, 14, 15, 16)
    assert rules.item(21).rank.free_places == 5 and rules.item(21).rank.per_place == Decimal("0.5")


def test_texts_are_verbatim_from_the_seed(rules):
    if not SEED.exists():
        missing(f"找不到官方任务清单的文本 {SEED}：它在项目仓库旁的 shared/seed/ 中"
                "（与 xlpipeline 检出目录并列放置 shared/ 后再运行）")
    seed = re.sub(r"\s+", "", SEED.read_text(encoding="utf-8"))
    for item in rules.items:
        assert re.sub(r"\s+", "", item.method) in seed, item.no
        assert re.sub(r"\s+", "", item.work) in seed, item.no
    for span in rules.indicators:
        assert span.text in seed
    for block in rules.blocks:
        assert f"{block.points}分" in seed
        assert all(a in seed for a in block.assessors)
    for span in rules.responsibilities:
        assert span.text in seed and span.extra in seed


def test_corrections_applied(rules):
    fixed = rules.fix(rules.item(1).work)
    assert "中国特色" in fixed and "通过特色" not in fixed
    assert "标准不高的" in rules.fix(rules.item(10).method)
    assert "奖励" in rules.fix(rules.item(22).method) and "奖1励" not in rules.fix(rules.item(22).method)
    assert "、严重警告," in rules.fix(rules.item(12).method) and "严严重" not in rules.fix(rules.item(12).method)
    assert "每人次扣0.1分," in rules.fix(rules.item(9).method)
    assert len(rules.corrections) == 9


def test_choices_are_shown_in_the_rules_sheet(rules, blank_workbook):
    """Every [choice] reading of rules-2026.md is in the data and shown to users in 规则."""
    from python_calamine import CalamineWorkbook
    assert {c.key for c in rules.choices} == {"max_total", "levels", "4.A", "5.A", "6.A", "14.B", "15.B", "主动查处",
                                              "one_code", "year", "survey", "rank"}
    shown = "\n".join(str(v) for row in CalamineWorkbook.from_path(str(blank_workbook)).get_sheet_by_name("规则")
                      .to_python() for v in row)
    for choice in rules.choices:
        assert choice.text in shown, choice.key
    assert "扣分 = 剩余分值 ×（1 − 满意度 / 100）" in shown and "两项相加" in shown


def test_unknown_year():
    with pytest.raises(RulesError, match="没有 1999 年度的规则数据"):
        load_rules(1999)


@pytest.mark.parametrize("change, message", [
    (('{ code = "1.B",', '{ code = "1.A",'), '情形代码 "1.A" 重复'),
    (("no = 1\ncap = 5", "no = 1\ncap = 9"), "各项上限之和 14 超过分块分值 10"),
    (("bonus_cap = 2", "bonus_cap = 2\ncolour = 1"), "未知的键 colour"),
    (("no = 3\n", "no = 4\n"), "序号应为 3，实际为 4"),
    (('{ items = [4, 5], text', '{ items = [5, 5], text'), "应从第 4 项接续"),
    (('{ wrong = "党支都"', '{ wrong = "不存在的错字"'), "“不存在的错字”在原文中没有出现"),
    (('"12.D"] }', '"12.X"] }'), '情形代码 "12.X" 不存在'),
    (('kind = "survey"', 'kind = "survay"'), "kind 应为"),
    (('conversion = "linear"', 'conversion = "log"'), "只支持 linear"),
    (("max_total = 102", "max_total = 103"), "base_points + bonus_cap"),
    (("year = 2026", "year = \"2026\""), "类型应为 整数"),
    (("year = 2026", "year = "), "格式错误"),
])
def test_bad_rules_files_are_refused(change, message):
    old, new = change
    assert old in SOURCE
    with pytest.raises(RulesError, match=re.escape(message)) as err:
        parse_rules(SOURCE.replace(old, new, 1), "bad.toml")
    assert str(err.value).startswith("规则数据 bad.toml: ")
