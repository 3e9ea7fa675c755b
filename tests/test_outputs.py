"""submit and batch: the filled 附件1, per group, read back and printed through LibreOffice."""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pdf_glyphs import assert_simplified_chinese
from conftest import pdf_page_sizes, pdf_pages, printed
from xlpipeline.pipeline import review
from xlpipeline.scoring.engine import score
from xlpipeline.workbook.book import FileBook
from xlpipeline.workbook.layout import PARAM_UNIT, PARAMS, param_cell
from xlpipeline.scoring.ledger import read_workbook
from xlpipeline.outputs.render import INDEX, file_name, inside, safe_name
from xlpipeline.resources import DEMO_WORKBOOK, TEMPLATE
from xlpipeline.ooxml.patch import patch_package

FIRST_ITEM_ROW = 5  # the template's repeated row


@pytest.fixture
def demo(tmp_path):
    path = tmp_path / "考评.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, path)
    return path


def form_rows(path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("附件1").to_python()


def items_of(rows) -> dict[int, list]:
    """Item number → its row, for the rows of the repeated block."""
    found = {}
    for row in rows[FIRST_ITEM_ROW - 1:]:
        if isinstance(row[0], float):
            found[int(row[0])] = row
        else:
            break
    return found


def test_submit_fills_the_whole_form(cli, demo):
    status, out, err = cli("submit", demo)
    assert status == 0, err
    path = demo.parent / "附件1_市散墙办_2026年创建模范机关自评.xlsx"
    assert path.exists() and str(path.name) in out
    rows = form_rows(path)
    assert rows[1][0] == "市散墙办创建模范机关任务清单" and "单位：市散墙办" in rows[2][0]
    items = items_of(rows)
    assert list(items) == list(range(1, 23))
    assert items[17][8] == pytest.approx(1.11) and items[22][8] == "+1.50"
    assert items[1][9] == 7.0 and items[11][9] == pytest.approx(15.89)  # block scores on the block's first row
    assert "满意度 93.5%" in items[17][10]
    total = rows[FIRST_ITEM_ROW - 1 + 22]
    assert total[0] == "合计" and total[9] == pytest.approx(79.19) and "总分 79.19" in total[10]
    ws = load_workbook(path)["附件1"]
    assert ws.cell(FIRST_ITEM_ROW + 22, 9).value == f"=SUM(I{FIRST_ITEM_ROW}:I{FIRST_ITEM_ROW + 21})"
    merges = set(map(str, ws.merged_cells.ranges))
    # 考评指标 over items 1–3, 分值/考评单位/得分 over block A (1–2), 责任科室/领导 over 1–3; block F
    # (items 11–17, rows 15–21) is taller than a page: its merges are split where the pages break
    assert {"B5:B7", "D5:D6", "E5:E6", "J5:J6", "G5:G7", "H5:H7", "A27:C27"} <= merges
    assert "J15:J21" not in merges  # block F's 得分, cut at its page breaks (shown again on each page)
    assert ws.print_title_rows == "$4:$4" and ws.print_area.endswith("$K$29")
    assert [str(cf.sqref) for cf in ws.conditional_formatting] == ["I5:I26"]  # red deductions, every item
    cases = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("扣分明细").to_python()
    assert len([r for r in cases[4:] if isinstance(r[0], float)]) == 31 + 2  # 31 rows (主动查处 counts 0), 17, 21
    assert totals(cases) == {"扣分合计": 22.31, "加分合计": 1.5}  # the form's 扣分 and 加分, apart


def totals(rows) -> dict:
    return {row[0]: row[6] for row in rows if row[0] in ("扣分合计", "加分合计")}


def detail_rows(path) -> list:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("扣分明细").to_python()


def test_case_list_of_a_group_scored_only_from_parameters(cli, make_workbook, to_pdf):
    """市纪委市监委 assesses items 11–17: with no cases, only the survey (item 17) costs points. Its
    扣分明细 gives 17 a line and a 扣分合计 equal to the form's; 市委组织部 has nothing: 无扣分记录."""
    path = make_workbook(satisfaction=Decimal("92.7"), rank=(3, 4))
    assert cli("batch", path, "--by", "考评单位", "--pdf")[0] == 0
    folder = path.parent / "考评_按考评单位"
    detail = detail_rows(folder / "附件1_市散墙办_2026年_市纪委市监委.xlsx")
    (line,) = [r for r in detail if r[0] == 17]
    assert line[1].startswith("满意度 92.7%") and line[6] == 1.46
    assert totals(detail) == {"扣分合计": 1.46}
    form = items_of(form_rows(folder / "附件1_市散墙办_2026年_市纪委市监委.xlsx"))
    assert form[17][8] == 1.46
    empty = detail_rows(folder / "附件1_市散墙办_2026年_市委组织部.xlsx")
    assert [r[0] for r in empty[4:]] == ["扣分合计"] and empty[4][6] == 0 and empty[4][7] == "无扣分记录"
    pages = pdf_pages(to_pdf(folder / "附件1_市散墙办_2026年_市委组织部.xlsx"))
    assert "无扣分记录" in pages[-1]


# Which items each 考评单位 assesses, read off 附件1's 考评单位 column by hand (not asked of the code)
ASSESSED_ITEMS = {"市委办": [1, 2, 10, 18, 19, 20, 21, 22], "市政府办": [1, 2, 18, 19, 20, 21, 22],
                  "市委组织部": [3, 6, 7, 8, 9], "市委宣传部": [4, 5],
                  "市直机关工委": [6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22],
                  "市纪委市监委": [11, 12, 13, 14, 15, 16, 17], "市委政法委": [11, 12, 13, 14, 15, 16, 17]}


def test_batch_by_assessor(cli, demo, rules):
    status, out, err = cli("batch", demo, "--by", "考评单位", "--out-dir", demo.parent / "分组")
    assert status == 0, err
    folder = demo.parent / "分组"
    rules_, params, cases = read_workbook(demo)
    results = score(rules_, params, cases)
    expected = ASSESSED_ITEMS
    with open(folder / INDEX, encoding="utf-8-sig", newline="") as f:
        index = list(csv.DictReader(f))
    assert [row["分组"] for row in index] == list(expected)
    for row in index:
        path = folder / row["文件"]
        items = items_of(form_rows(path))
        assert list(items) == expected[row["分组"]], row["分组"]
        for no, cells in items.items():
            amount = results.item(no).amount
            assert cells[8] == (f"+{amount:.2f}" if no == 22 else pytest.approx(float(amount)))
        wb = load_workbook(path)
        subtotal = wb["附件1"].cell(FIRST_ITEM_ROW + len(items), 1).value
        assert subtotal == "小计"
        detail = wb["扣分明细"]
        logged = [detail.cell(r, 1).value for r in range(5, detail.max_row + 1)
                  if isinstance(detail.cell(r, 1).value, int)]
        assert set(logged) <= set(expected[row["分组"]])
        assert len(logged) == sum(len(results.item(no).cases) + (no in (17, 21) and results.item(no).amount > 0)
                                  for no in expected[row["分组"]])  # the cases, and a line for 17 and 21
    both = {row["分组"]: row["序号"].split("、") for row in index}
    assert "1" in both["市委办"] and "1" in both["市政府办"]  # a shared item goes to each assessor


@pytest.mark.parametrize("by, names", [("任务清单责任科室", ["综合科牵头负责，其他科室协作完成", "综合科"]),
                                       ("责任领导", ["郭伦旭", "蒋进"]),
                                       ("考评指标", ["带头做到“两个维护”", "带头强化理论武装", "带头抓基层打基础",
                                                 "带头联系服务群众", "带头担当履职尽责"])])
def test_batch_groupings(cli, demo, by, names):
    status, _, err = cli("batch", demo, "--by", by)
    assert status == 0, err
    folder = demo.parent / f"考评_按{by}"
    with open(folder / INDEX, encoding="utf-8-sig", newline="") as f:
        index = list(csv.DictReader(f))
    assert [row["分组"] for row in index] == names
    covered = sorted(int(n) for row in index for n in row["序号"].split("、"))
    assert covered == list(range(1, 23))  # these groupings split the items without overlap


def test_batch_by_the_department_each_case_is_logged_under(cli, demo):
    """责任科室 means the department in 扣分台账: one workbook each, with its own cases, what they cost
    after the caps, and the items they touch (the demo's log, tallied by hand)."""
    status, out, err = cli("batch", demo, "--by", "责任科室")
    assert status == 0, err
    folder = demo.parent / "考评_按责任科室"
    with open(folder / INDEX, encoding="utf-8-sig", newline="") as f:
        index = [(r["分组"], r["序号"], r["扣分小计"], r["所涉分块得分"]) for r in csv.DictReader(f)]
    assert index == [("综合科", "1、2、3、4、5、6、7、8、10、13、15、22", "12.00", ""),
                     ("督查科", "9、18、19", "4.20", ""), ("执法科", "9、12、20", "3.00", ""),
                     ("办公室", "11", "0.50", "")]  # 19.70 in all: the 22.31 deducted less items 17 and 21
    path = folder / "附件1_市散墙办_2026年_督查科.xlsx"
    items = items_of(form_rows(path))
    assert {no: row[8] for no, row in items.items()} == {9: 1.2, 18: 2.0, 19: 1.0}  # item 9: 督查科's 1.20 of 1.70
    assert all(row[9] == "" for row in items.values())  # block scores belong to the whole unit
    detail = detail_rows(path)
    assert [r[9] for r in detail[4:] if isinstance(r[0], float)] == ["督查科"] * 5
    assert totals(detail) == {"扣分合计": 4.2}
    assert "本科室扣分合计 4.20（全单位扣分 22.31）" in [r for r in form_rows(path) if r[0] == "小计"][0][10]


def test_hostile_names_stay_inside_the_folder(cli, tmp_path, demo):
    hostile = '../../etc/x\\y:z*?"<>|' + "很长的单位名称" * 30

    def set_unit(path):
        out = io.BytesIO()
        with open(path, "rb") as source:
            patch_package(source, out, {PARAMS: {param_cell(PARAM_UNIT): hostile}})
        path.write_bytes(out.getvalue())
    set_unit(demo)
    folder = tmp_path / "输出"
    status, _, err = cli("batch", demo, "--by", "责任领导", "--out-dir", folder)
    assert status == 0, err
    written = sorted(p.name for p in folder.iterdir())
    assert len(written) == 3 and INDEX in written
    assert all("/" not in n and "\\" not in n and ":" not in n and len(n) <= 85 for n in written)
    assert any(n.endswith("_郭伦旭.xlsx") for n in written) and any(n.endswith("_蒋进.xlsx") for n in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["考评.xlsx", "输出"])
    status, _, err = cli("submit", demo)
    assert status == 0, err
    assert len([p for p in tmp_path.iterdir() if p.suffix == ".xlsx"]) == 2


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_new_files_follow_the_umask(cli, demo, tmp_path):
    """Not the 0600 of the temp files they are written through (issue 12, item 8)."""
    old = os.umask(0o022)
    try:
        assert cli("init", tmp_path / "新.xlsx")[0] == 0
        assert cli("submit", demo)[0] == 0
        assert cli("batch", demo, "--by", "责任领导")[0] == 0
    finally:
        os.umask(old)
    written = [tmp_path / "新.xlsx", demo.parent / "附件1_市散墙办_2026年创建模范机关自评.xlsx",
               *(demo.parent / "考评_按责任领导").iterdir()]
    assert len(written) == 5 and {oct(p.stat().st_mode & 0o777) for p in written} == {oct(0o644)}


def test_the_index_never_holds_a_formula(cli, tmp_path, demo):
    """A 单位名称 like =1+1 ends up in file names and 索引.csv: there it is text (issue 11, item 6)."""
    def set_unit(path, unit):
        out = io.BytesIO()
        with open(path, "rb") as source:
            patch_package(source, out, {PARAMS: {param_cell(PARAM_UNIT): unit}})
        path.write_bytes(out.getvalue())
    set_unit(demo, "=1+1")
    assert cli("batch", demo, "--by", "责任领导", "--name", "{unit}{group}", "--out-dir", tmp_path / "出")[0] == 0
    with open(tmp_path / "出" / INDEX, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert [r[2] for r in rows[1:]] == ["'=1+1郭伦旭.xlsx", "'=1+1蒋进.xlsx"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_safe_names():
    assert safe_name("..") == "未命名" and safe_name("  ") == "未命名"
    assert safe_name("CON") == "_CON" and safe_name("a/b\\c:d") == "a_b_c_d"
    assert safe_name("x" * 300) == "x" * 80
    assert file_name("{unit}-{year}", unit="../办", year=2026) == "_办-2026"


def test_a_bad_name_pattern_makes_no_folder(cli, demo):
    status, _, err = cli("batch", demo, "--by", "责任领导", "--name", "{secret}")
    assert status == 2 and "文件名格式" in err
    assert not (demo.parent / "考评_按责任领导").exists()


def test_name_patterns(tmp_path):
    assert file_name("{attachment}_{unit}", attachment="附件1", unit="a/b") == "附件1_a_b"
    for bad in ("{unit.__class__}", "{unit!r}", "{secret}", "{unit"):
        with pytest.raises(Exception, match="文件名格式"):
            file_name(bad, unit="x")
    taken = set()
    assert inside(tmp_path, "a.xlsx", taken).name == "a.xlsx"
    assert inside(tmp_path, "A.xlsx", taken).name == "A_2.xlsx"  # Windows folds case


def test_every_formula_carries_the_value_libreoffice_computes(cli, demo, recalculate):
    """Readers that do not calculate (calamine, openpyxl data_only, mail and phone previews) show the
    cached values: each formula cell of submit's and batch's outputs has one, and it is right."""
    assert cli("submit", demo)[0] == 0 and cli("batch", demo, "--by", "考评单位")[0] == 0
    outputs = [demo.parent / "附件1_市散墙办_2026年创建模范机关自评.xlsx",
               *sorted((demo.parent / "考评_按考评单位").glob("*.xlsx"))]
    recalculated = recalculate(outputs, demo.parent / "lo")
    checked = 0
    for ours, theirs in zip(outputs, recalculated):
        wb = load_workbook(ours)
        for ws in wb:
            cached = CalamineWorkbook.from_path(str(ours)).get_sheet_by_name(ws.title).to_python()
            computed = CalamineWorkbook.from_path(str(theirs)).get_sheet_by_name(ws.title).to_python()
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        r, c = cell.row - 1, cell.column - 1
                        assert cached[r][c] != "" and cached[r][c] == pytest.approx(computed[r][c]), \
                            (ours.name, ws.title, cell.coordinate)
                        checked += 1
    assert checked == 2 * len(outputs)  # 附件1's 扣分 total and 扣分明细's 合计, in every file


def test_submit_and_batch_pdf(cli, demo, to_pdf):
    """Both commands' PDFs: A4 landscape, the form's header row on each of its pages, every page
    numbered 第 k 页，共 N 页 in order, and the scores printed on the 合计/小计 line."""
    status, _, err = cli("submit", demo, "--pdf")
    assert status == 0, err
    status, _, err = cli("batch", demo, "--by", "责任领导", "--pdf")
    assert status == 0, err
    folder = demo.parent / "考评_按责任领导"
    # the line that closes the form: its label, 扣分, 得分 (the demo's figures, literal)
    expected = {demo.parent / "附件1_市散墙办_2026年创建模范机关自评.pdf": ("合计", "22.31", "79.19"),
                folder / "附件1_市散墙办_2026年_郭伦旭.pdf": ("小计", "8.11", "43.89"),
                folder / "附件1_市散墙办_2026年_蒋进.pdf": ("小计", "14.20", "51.19")}
    assert sorted(folder.glob("*.pdf")) == sorted(p for p in expected if p.parent == folder)
    for pdf, (label, deducted, scored) in expected.items():
        sizes = pdf_page_sizes(pdf)
        assert sizes and all(abs(w - 841.89) < 1 and abs(h - 595.3) < 1 for w, h in sizes), pdf.name
        pages = pdf_pages(pdf)
        assert [re.findall(r"第 (\d+) 页，共 (\d+) 页", p) for p in pages] == [
            [(str(k), str(len(pages)))] for k in range(1, len(pages) + 1)], pdf.name
        form = [p for p in pages if "考评办法" in p]
        assert form and all("扣分说明" in p for p in form)  # the header row on every page of the form
        assert "市散墙办创建模范机关任务清单" in pages[0] and any("扣分明细" in p for p in pages)
        assert any(deducted in line and scored in line for p in form for line in p.splitlines()), pdf.name
        assert any(label in p for p in form)
        assert embedded_faces(pdf) >= {"NotoSerifCJK-Regular", "NotoSerifCJK-Bold", "NotoSansCJK-Regular"}, pdf.name
        assert_simplified_chinese(pdf)


@pytest.mark.parametrize("by", ["责任科室", "任务清单责任科室", "考评单位", "考评指标"])
def test_every_grouping_prints_simplified_forms(cli, demo, to_pdf, by):
    """Every PDF `batch` writes (责任领导's are checked above): the Han characters in their
    Simplified-Chinese forms, never the Japanese ones Debian's Noto CJK would also give."""
    status, _, err = cli("batch", demo, "--by", by, "--pdf")
    assert status == 0, err
    pdfs = sorted((demo.parent / f"考评_按{by}").glob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        assert_simplified_chinese(pdf)


def embedded_faces(pdf: Path) -> set[str]:
    """The CJK faces a PDF embeds (pdffonts), without subset tag, region or vertical-kana suffix: the
    official families map to a serif for 仿宋 (body), a bold serif for 小标宋 (title) and a sans for 黑体
    (headings) — without the mapping, LibreOffice set everything in one sans face (issue 25, item 1)."""
    names = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout.split()
    return {re.sub(r"CJK(jp|kr|sc|tc|hk)", "CJK", n.split("+")[-1]).removesuffix("-VKana")
            for n in names if "CJK" in n}


BLOCKS = {"A": ([1, 2], "7.00"), "B": ([3], "9.50"), "C": ([4, 5], "11.50"), "D": ([6, 7, 8, 9], "9.80"),
          "E": ([10], "4.50"), "F": ([11, 12, 13, 14, 15, 16, 17], "15.89"), "G": ([18, 19, 20, 21, 22], "19.50")}


def item_pages(pages: list[str]) -> dict[int, set[int]]:
    """Item number → the printed pages of the form (those with its header row) that show its row."""
    found: dict[int, set[int]] = {}
    for n, page in enumerate(pages, start=1):
        if "考评办法" in page:
            for no in re.findall(r"(?m)^\s{0,3}(\d{1,2})\s{2,}", page):
                found.setdefault(int(no), set()).add(n)
    return found


def test_pages_are_filled_and_blocks_labelled(cli, demo, to_pdf):
    """Pages are filled (issue 25, item 2): a block stays together only where it fits on what is left
    of a page, else it breaks between items and shows its 分值 and 得分 again on the next page; every
    page of the form but its last is at least half full (the old rule left page 2 a third full)."""
    assert cli("submit", demo, "--pdf")[0] == 0
    pdf = demo.parent / "附件1_市散墙办_2026年创建模范机关自评.pdf"
    pages = pdf_pages(pdf)
    where = item_pages(pages)
    assert sorted(where) == list(range(1, 23))
    for block, (items, shown) in BLOCKS.items():
        on = set().union(*(where[no] for no in items))
        assert all(shown in pages[n - 1] for n in on), (block, on)  # the block's score on each of its pages
    form = sorted(set().union(*where.values()))
    fill = page_fill(pdf)
    assert all(fill[n - 1] >= 0.5 for n in form[:-1]), fill


def page_fill(pdf: Path) -> list[float]:
    """Per page, how far down the page its lowest word (the footer's page number aside) is printed."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
    fills = []
    for _, height, words in re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        lows = [float(y) for y in re.findall(r'yMax="([\d.]+)"', words) if float(y) < 0.9 * float(height)]
        fills.append(max(lows, default=0.0) / float(height))
    return fills


def test_a_merged_sentence_is_as_tall_as_its_lines(cli, demo):
    """扣分明细's rows for items 17 and 21 hold one sentence across merged columns: sized from the merged
    width (one or two lines), not from the first column's (96 and 224 points before)."""
    assert cli("submit", demo)[0] == 0
    sheet = load_workbook(demo.parent / "附件1_市散墙办_2026年创建模范机关自评.xlsx")["扣分明细"]
    rows = {row[0].value: row[0].row for row in sheet.iter_rows() if row[0].value in (17, 21)}
    assert sorted(rows) == [17, 21]
    assert [sheet.row_dimensions[rows[no]].height for no in (17, 21)] == [16.0, 32.0]


def test_printed_text_is_whole(cli, demo, to_pdf, rules):
    """Rows tall enough for the fonts LibreOffice prints with (the last words of every item's texts are
    on the page, not clipped), 分值's “100分+2” on one line, 扣分明细's 情形 without a lone “）”."""
    assert cli("submit", demo, "--pdf")[0] == 0
    pdf = demo.parent / "附件1_市散墙办_2026年创建模范机关自评.pdf"
    plain = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    said = review(FileBook(demo)).explanations
    for item in rules.items:
        for text in (rules.fix(item.work), rules.fix(item.method), said[item.no]):
            assert printed(re.sub(r"\s+", "", text)[-6:], plain), (item.no, text[-6:])
    lines = [line for page in pdf_pages(pdf) for line in page.splitlines()]
    assert any("合计" in line and "100分+2" in line for line in lines)
    assert any("党纪政务轻处分（警告、严重警告、记过、记大过）" in line for line in lines)
    assert not [line for line in lines if line.strip() in ("）", ")")]


def test_the_working_workbook_prints_blocks_whole(cli, demo, to_pdf):
    """任务清单 breaks between blocks; 得分汇总 prints its items on one page and its block table with
    the totals whole on the next, both headed by the sheet's name."""
    assert cli("score", demo)[0] == 0
    pages = pdf_pages(to_pdf(demo))
    where = item_pages(pages)
    assert sorted(where) == list(range(1, 23))
    for block, (items, _) in BLOCKS.items():
        assert len(set().union(*(where[no] for no in items))) == 1, block
    summary = [p for p in pages if "得分汇总" in p.strip().splitlines()[0]]
    assert len(summary) == 2 and "扣分/加分" in summary[0] and "分块" in summary[1]
    table = [line.split() for line in summary[1].splitlines()]
    assert [row[0] for row in table if row and row[0] in BLOCKS] == list(BLOCKS)
    assert ["总分", "79.19"] in table


def test_pdf_page_one_looks_like_a_form(cli, demo, to_pdf, tmp_path):
    status, _, err = cli("submit", demo, "--pdf")
    assert status == 0, err
    pdf = next(demo.parent.glob("*.pdf"))
    subprocess.run(["pdftoppm", "-gray", "-r", "100", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    width, height, pixels = read_pgm(next(tmp_path.glob("page*.pgm")))
    dark = sum(1 for p in pixels if p < 128)
    assert dark > 0.01 * width * height, "page 1 is blank"
    rows = [pixels[y * width:(y + 1) * width] for y in range(height)]
    # merged columns interrupt the lines between items, so look for long segments, not full rules
    long_lines = [y for y, row in enumerate(rows) if longest_dark_run(row) > 0.15 * width]
    columns = [[rows[y][x] for y in range(height)] for x in range(width)]
    tall_lines = [x for x, col in enumerate(columns) if longest_dark_run(col) > 0.25 * height]
    assert len(long_lines) >= 5 and len(tall_lines) >= 11, "no table grid on page 1"  # header + 3 items


def read_pgm(path):
    data = path.read_bytes()
    fields, position = [], 0
    while len(fields) < 4:  # magic, width, height, maxval, separated by whitespace
        while data[position:position + 1].isspace():
            position += 1
        end = position
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    assert fields[0] == b"P5"
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[position + 1:position + 1 + width * height]


def longest_dark_run(values) -> int:
    best = run = 0
    for v in values:
        run = run + 1 if v < 160 else 0
        best = max(best, run)
    return best


def test_no_libreoffice_is_a_clear_error(cli, demo, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, _, err = cli("submit", demo, "--pdf")
    assert status == 2 and "未找到 LibreOffice" in err


def test_template_error_names_sheet_and_cell(cli, demo, tmp_path):
    broken = tmp_path / "坏模板.xlsx"
    wb = load_workbook(TEMPLATE)
    wb["附件1"]["K5"] = "{{ item.explanation | nosuchfilter }}"
    wb.save(broken)
    status, _, err = cli("submit", demo, "--template", broken)
    assert status == 2 and err.startswith("附件1!K5: 模板错误："), err


def test_template_restyled_in_an_office_suite(cli, demo, soffice, tmp_path):
    """A template saved again by LibreOffice (shared strings, its own styles) still fills."""
    resaved = soffice(TEMPLATE, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    with zipfile.ZipFile(resaved) as z:
        assert "xl/sharedStrings.xml" in z.namelist()
    out = tmp_path / "out.xlsx"
    status, _, err = cli("submit", demo, "--template", resaved, "--out", out)
    assert status == 0, err
    items = items_of(form_rows(out))
    assert list(items) == list(range(1, 23)) and items[17][8] == pytest.approx(1.11)


def test_pdf_without_libreoffice_says_the_workbook_was_written(cli, tmp_path, monkeypatch):
    from xlpipeline.resources import DEMO_WORKBOOK
    book = tmp_path / "考评.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, book)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr("xlpipeline.outputs.pdf.WINDOWS_SOFFICE", tmp_path / "没有")
    status, _, err = cli("submit", book, "--pdf")
    assert status == 2 and "未找到 LibreOffice" in err and "工作簿已生成：附件1_" in err and "只是没有 PDF" in err
    assert list(tmp_path.glob("附件1_*.xlsx"))


def test_an_ods_gets_a_save_as_hint(cli, tmp_path):
    path = tmp_path / "台账.ods"
    path.write_bytes(b"PK")
    status, _, err = cli("score", path)
    assert status == 2 and "另存为 .xlsx" in err
