"""The bundled demo workbook scores as computed by hand from rules-2026.md."""
from __future__ import annotations

import json
import shutil

from python_calamine import CalamineWorkbook

from xlpipeline.workbook.layout import FORM, FormLayout
from xlpipeline.resources import DEMO_WORKBOOK
from xlpipeline.rules import load_rules

EXPECTED_ITEMS = {1: "0.50", 2: "2.50", 3: "0.50", 4: "1.00", 5: "2.50", 6: "1.00", 7: "1.50", 8: "1.00", 9: "1.70",
                  10: "0.50", 11: "0.50", 12: "1.50", 13: "0.50", 14: "0.00", 15: "0.50", 16: "0.00",
                  17: "1.11",  # remaining 17 × (1 − 93.5%) = 1.105 → 1.11
                  18: "2.00", 19: "1.00", 20: "1.00", 21: "1.50"}  # ranks 7 and 6: (2 + 1) × 0.5
EXPECTED_BLOCKS = ["7.00", "9.50", "11.50", "9.80", "4.50", "15.89", "19.50"]


def test_demo_scores(cli, tmp_path):
    path = tmp_path / DEMO_WORKBOOK.name
    shutil.copyfile(DEMO_WORKBOOK, path)
    status, out, err = cli("score", path, "--json", "--dry-run")
    assert status == 0, err
    data = json.loads(out)
    assert {i["no"]: i["deduction"] for i in data["items"]} == EXPECTED_ITEMS
    assert [b["score"] for b in data["blocks"]] == EXPECTED_BLOCKS
    assert data["bonus"] == "1.50" and data["total"] == "79.19"
    assert data["warnings"] == DEMO_HINTS  # its 工作日历's two missed duties (any day after 2026-07-31)


DEMO_HINTS = ["第4项 上半年分析研判（应于 2026-06-30 前）未登记完成：如属实应记 4.A",
              "第5项 7月理论学习中心组学习（应于 2026-07-31 前）未登记完成：如属实应记 5.A"]


def test_demo_log_is_realistic():
    rows = CalamineWorkbook.from_path(str(DEMO_WORKBOOK)).get_sheet_by_name("扣分台账").to_python()[1:]
    codes = {r[2].split()[0] for r in rows if r[2]}
    items = {int(c.split(".")[0]) for c in codes}
    assert len(rows) >= 30 and len(items) >= 15
    assert {r[4] for r in rows} >= {"非市管干部", "主动查处", "办公厅名义"}


def shown_figures(path) -> tuple[dict, str, str]:
    """Items' 扣分, the total and the 合计 note as 任务清单 holds them (cached values)."""
    layout = FormLayout(load_rules(2026))
    form = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(FORM).to_python()
    items = {no: f"{form[layout.item_row(no) - 1][8]:.2f}" for no in range(1, 22)}
    total = form[layout.total_row - 1]
    return items, f"{total[9]:.2f}", total[10]


def test_demo_is_live(recalculate, tmp_path):
    """As shipped (no calculation) and recalculated by LibreOffice, the demo shows the hand-checked scores."""
    assert shown_figures(DEMO_WORKBOOK) == (EXPECTED_ITEMS, "79.19", "各分块得分合计 77.69，加分 1.50")
    recalculated = recalculate([DEMO_WORKBOOK], tmp_path)[0]
    assert shown_figures(recalculated) == (EXPECTED_ITEMS, "79.19", "各分块得分合计 77.69，加分 1.50")


def test_the_demo_build_script_makes_a_scored_demo(tmp_path):
    """workbooks/build_demo.py, run as the README says, writes a demo whose cached figures are the
    hand-checked ones: it scores before it saves (issue 27, item 4)."""
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "workbooks" / "build_demo.py"
    built = tmp_path / DEMO_WORKBOOK.name
    done = subprocess.run([sys.executable, str(script), str(built)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert shown_figures(built) == (EXPECTED_ITEMS, "79.19", "各分块得分合计 77.69，加分 1.50")
    form = CalamineWorkbook.from_path(str(built)).get_sheet_by_name(FORM).to_python()
    assert "第 7 名" in form[FormLayout(load_rules(2026)).item_row(21) - 1][10]  # its 扣分说明
