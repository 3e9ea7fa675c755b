"""LibreOffice headless opens what `score` wrote and prints the form as the office expects."""
from __future__ import annotations

import shutil

from conftest import pdf_page_sizes, pdf_pages, printed
from xlpipeline.pipeline import score_workbook
from xlpipeline.resources import DEMO_WORKBOOK

A4_LANDSCAPE = (841.89, 595.3)


def form_pages(pages: list[str]) -> list[str]:
    """The pages of 任务清单: LibreOffice prints the sheets in order, the form first, ending at 合计."""
    end = next(i for i, text in enumerate(pages) if "合计" in text)
    return pages[:end + 1]


def test_scored_demo_prints_with_scores(tmp_path, to_pdf):
    path = tmp_path / "演示.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, path)
    score_workbook(path)
    pdf = to_pdf(path)
    for width, height in pdf_page_sizes(pdf):
        assert abs(width - A4_LANDSCAPE[0]) < 1 and abs(height - A4_LANDSCAPE[1]) < 1
    pages = form_pages(pdf_pages(pdf))
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert "考评办法" in text and "扣分说明" in text, f"page {number} lacks the header row"
        assert f"第 {number} 页" in text
    text = "\n".join(pages)
    assert "市散墙办创建模范机关任务清单" in text
    for shown in ("15.89", "79.19", "1.11", "11.50"):
        assert shown in text
    assert printed("满意度 93.5%", text) and printed("第 7 名", text) and printed("第 6 名", text)
