"""`xlpipeline collect` (issue 10): a synthetic city of 60 units made through the real pipeline,
collected from their .eml messages and from a folder of workbooks; every unit's figures equal its
own `score --json`, ranks share places on equal totals, `--as` keeps exactly the assessor's items;
tampered inputs are each reported with their reason and the good ones still count."""
from __future__ import annotations

import email
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from city import build_city, log_rows, run
from conftest import _require as require
from pdf_glyphs import assert_simplified_chinese
from xlpipeline.ooxml.patch import patch_package
from xlpipeline.outputs.embed import SCHEMA, canonical, digest
from xlpipeline.outputs.report import groups
from xlpipeline.rules import load_rules
from xlpipeline.workbook.layout import FORM_COLUMNS

RULES = load_rules(2026)
BONUS = {i.no for i in RULES.items if i.kind == "bonus"}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("city")
    return folder, build_city(folder, 60)


def expected_ranks(totals: dict[str, str]) -> dict[str, int]:
    """Competition ranking, worked out independently: 1 + the number of strictly higher totals."""
    return {u: 1 + sum(Decimal(o) > Decimal(t) for o in totals.values()) for u, t in totals.items()}


def collected_json(*args) -> tuple[int, dict]:
    code, out = run("collect", *args, "--json")
    return code, json.loads(out)


@pytest.mark.parametrize("source", ["eml", "workbooks"])
def test_the_city_rolls_up_to_each_units_own_score(city, source, tmp_path):
    folder, units = city
    code, result = collected_json(folder / source, "--out", tmp_path / "汇总.xlsx")
    assert code == 0, result["problems"]
    assert result["problems"] == []
    got = {u["unit"]: u for u in result["units"]}
    assert sorted(got) == sorted(u.name for u in units)
    for unit in units:
        mine = got[unit.name]
        assert mine["total"] == unit.expected["total"]
        assert mine["items"] == unit.expected["items"]  # deductions per item, the bonus item apart
        assert mine["bonus"] == unit.expected["bonus"]
    ranks = expected_ranks({u.name: u.expected["total"] for u in units})
    assert {u: got[u]["rank"] for u in got} == ranks
    assert max(Counter(ranks.values()).values()) >= 3  # the city has ties, and they share a place
    assert [u["rank"] for u in result["units"]] == sorted(u["rank"] for u in result["units"])


def test_as_an_assessor_only_its_items_count(city, tmp_path):
    folder, units = city
    items = groups(RULES, "考评单位")["市委组织部"]
    blocks = {RULES.item(no).block for no in items}
    code, result = collected_json(folder / "eml", "--as", "市委组织部", "--out", tmp_path / "组织部.xlsx")
    assert code == 0 and result["assessor"] == "市委组织部"
    for unit in units:
        mine = next(u for u in result["units"] if u["unit"] == unit.name)
        assert [i["no"] for i in mine["items"]] == [no for no in items if no not in BONUS]
        scores = [b["score"] for b, block in zip(unit.expected["blocks"], RULES.blocks) if block.id in blocks]
        assert Decimal(mine["total"]) == sum(map(Decimal, scores))
    ranks = expected_ranks({u["unit"]: u["total"] for u in result["units"]})
    assert {u["unit"]: u["rank"] for u in result["units"]} == ranks


def test_the_rollup_workbook_shows_the_table(city, tmp_path):
    folder, units = city
    out = tmp_path / "汇总.xlsx"
    assert run("collect", folder / "workbooks", "--out", out)[0] == 0
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names == ["汇总", "单项统计", "图表", "问题清单"]
    rows = book.get_sheet_by_name("汇总").to_python()
    header = rows[3]
    assert header[:6] == ["排名", "单位", "总分", "加分", "扣分合计", "填报日期"]
    assert header[6:] == [f"{b.id}块得分" for b in RULES.blocks] + \
        [f"{i.no}项" + ("加分" if i.no in BONUS else "扣分") for i in RULES.items]
    table = {row[1]: row for row in rows[4:4 + len(units)]}
    for unit in units:
        row = table[unit.name]
        assert f"{row[2]:.2f}" == unit.expected["total"]
        deductions = {f"{i.no}项扣分": i.no for i in RULES.items if i.no not in BONUS}
        for title, no in deductions.items():
            assert f"{row[header.index(title)]:.2f}" == unit.expected["items"][no - 1]["deduction"]
    stats = book.get_sheet_by_name("单项统计").to_python()
    units_with = {int(r[0]): int(r[2]) for r in stats[4:4 + len(RULES.items)]}
    for no in range(1, len(RULES.items) + 1):
        if no not in BONUS:
            assert units_with[no] == sum(Decimal(u.expected["items"][no - 1]["deduction"]) > 0 for u in units)


def test_a_rollup_of_rollups_keeps_units_once(city, tmp_path):
    folder, units = city
    files = sorted((folder / "workbooks").glob("*.xlsx"))
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    for f in files[:40]:
        shutil.copy(f, tmp_path / "a")
    for f in files[30:]:
        shutil.copy(f, tmp_path / "b")
    assert run("collect", tmp_path / "a", "--out", tmp_path / "甲.xlsx")[0] == 0
    assert run("collect", tmp_path / "b", "--out", tmp_path / "乙.xlsx")[0] == 0
    code, result = collected_json(tmp_path / "甲.xlsx", tmp_path / "乙.xlsx", "--out", tmp_path / "全市.xlsx")
    assert code == 0 and result["problems"] == []
    assert sorted(u["unit"] for u in result["units"]) == sorted(u.name for u in units)
    assert {u["unit"]: u["total"] for u in result["units"]} == {u.name: u.expected["total"] for u in units}


def test_attachments_saved_again_by_libreoffice_keep_their_data(city, tmp_path, recalculate):
    """LibreOffice keeps the custom XML part when it saves (it moves its relationship): the files
    still count with their embedded data, and nothing is flagged."""
    folder, units = city
    (tmp_path / "saved").mkdir()
    recalculate([folder / "workbooks" / f"{u.name}.xlsx" for u in units[:3]], tmp_path / "saved")
    code, result = collected_json(tmp_path / "saved", "--out", tmp_path / "汇总.xlsx")
    assert code == 0 and result["problems"] == []
    assert {u["unit"]: u["total"] for u in result["units"]} == {u.name: u.expected["total"] for u in units[:3]}


# --- tampered and hostile inputs ---------------------------------------------------------------

def attachment_data(path: Path) -> tuple[dict, str]:
    with zipfile.ZipFile(path) as z:
        text = z.read("customXml/item1.xml").decode()
    return json.loads(re.search(r">(\{.*\})<", text, re.S)[1]), re.search(r'digest="([^"]+)"', text)[1]


def rewrite_embedded(path: Path, out: Path, edit, fix_digest: bool) -> None:
    data, _ = attachment_data(path)
    edit(data)
    stored = digest(data) if fix_digest else "sha256:" + "0" * 64
    item = (f"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n<results xmlns=\"{SCHEMA}\" "
            f"digest=\"{stored}\">").encode() + canonical(data).replace(b"&", b"&amp;").replace(b"<", b"&lt;") \
        + b"</results>"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, item if info.filename == "customXml/item1.xml" else zin.read(info))


def edit_visible_cell(path: Path, out: Path, no: int, value) -> None:
    """Change item `no`'s 扣分 on the visible form (as a person would in Excel, which keeps the data)."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("附件1").to_python()
    r = next(i for i, row in enumerate(rows) if row[0] == no) + 1
    with open(path, "rb") as source, open(out, "wb") as target:
        patch_package(source, target, {"附件1": {f"I{r}": value}})


def hand_made_form(path: Path, unit: str | None, deductions: dict[int, float]) -> None:
    """An official form filled by hand in Excel: our layout, none of our data."""
    wb = Workbook()
    ws = wb.active
    ws.title = "附件1"
    ws["A1"], ws["A2"] = "附件1", "市散墙办创建模范机关任务清单"
    ws["A3"] = (f"单位：{unit}　　" if unit else "") + "考评年度：2026 年"
    ws.append(list(FORM_COLUMNS))
    for item in RULES.items:
        ws.append([item.no, "", "", "", "", "", "", "", deductions.get(item.no, 0), "", ""])
    ws.append(["合计"])
    wb.save(path)


def email_without_attachment(path: Path) -> None:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "附件1", "a@example.org", "b@example.org"
    message.set_content("附件见后")
    path.write_bytes(bytes(message))


@pytest.fixture(scope="module")
def inbox(city, tmp_path_factory):
    """Six good attachments, and beside them one of each kind of bad input."""
    folder, units = city
    box = tmp_path_factory.mktemp("inbox")
    good = [folder / "workbooks" / f"{u.name}.xlsx" for u in units[:6]]
    for f in good:
        shutil.copy(f, box)
    names = [u.name for u in units]
    edit_visible_cell(good[1], box / f"{names[1]}_改表.xlsx", 1, 9.99)
    shutil.copy(good[1], box / "说明.txt")  # not a workbook: ignored in a folder
    os.remove(box / f"{names[1]}.xlsx")
    rewrite_embedded(good[2], box / f"{names[2]}_改数据.xlsx", lambda d: d.update(total="99.00"), fix_digest=False)
    os.remove(box / f"{names[2]}.xlsx")

    def smarter(d):  # edits the figures and recomputes the digest: only the engine notices
        next(i for i in d["items"] if i["amount"] != "0.00" and i["kind"] == "deduction")["amount"] = "0.00"
    rewrite_embedded(good[3], box / f"{names[3]}_重算校验.xlsx", smarter, fix_digest=True)
    os.remove(box / f"{names[3]}.xlsx")
    older = box / f"{names[0]}_旧.xlsx"
    rewrite_embedded(good[0], older, lambda d: d.update(date="2026-01-05"), fix_digest=True)
    rewrite_embedded(good[4], box / "去年.xlsx", lambda d: d.update(year=2025), fix_digest=True)
    hand_made_form(box / "手填.xlsx", "市手填局", {3: 0.5, 9: 1.2})
    hand_made_form(box / "无单位.xlsx", None, {})
    Workbook().save(box / "别的表.xlsx")
    (box / "损坏.xlsx").write_bytes(good[5].read_bytes()[:3000])
    email_without_attachment(box / "空邮件.eml")
    return box, units, names


def test_tampered_inputs_are_each_reported(inbox, tmp_path):
    box, units, names = inbox
    code, result = collected_json(box, "--out", tmp_path / "汇总.xlsx")
    assert code == 1  # some inputs not counted
    problems = {Path(p["file"]).name: p for p in result["problems"]}
    reasons: dict[str, str] = {}
    for p in result["problems"]:  # a file may have several
        reasons[Path(p["file"]).name] = reasons.get(Path(p["file"]).name, "") + p["message"] + "\n"
    counted = {u["unit"]: u for u in result["units"]}

    assert "表格被手工改动" in reasons[f"{names[1]}_改表.xlsx"] and problems[f"{names[1]}_改表.xlsx"]["counted"]
    assert "第1项扣分 表格 9.99，原为 0.00" in reasons[f"{names[1]}_改表.xlsx"]
    assert "内嵌数据在生成后被改动过" in reasons[f"{names[2]}_改数据.xlsx"]
    assert "总分 重算" in reasons[f"{names[2]}_改数据.xlsx"]
    assert "分数被手工改动" in reasons[f"{names[3]}_重算校验.xlsx"]
    edited = next(i["no"] for i in units[3].expected["items"] if i["deduction"] != "0.00")
    assert f"第{edited}项 重算 {units[3].expected['items'][edited - 1]['deduction']}，填报 0.00" in \
        reasons[f"{names[3]}_重算校验.xlsx"]
    assert "重复提交" in reasons[f"{names[0]}_旧.xlsx"] and not problems[f"{names[0]}_旧.xlsx"]["counted"]
    assert "考评年度为 2025" in reasons["去年.xlsx"] and not problems["去年.xlsx"]["counted"]
    assert "不是本程序生成的附件" in reasons["手填.xlsx"] and problems["手填.xlsx"]["counted"]
    assert "找不到单位名称" in reasons["无单位.xlsx"]
    assert "不是附件1" in reasons["别的表.xlsx"]
    assert "损坏" in reasons["损坏.xlsx"] and not problems["损坏.xlsx"]["counted"]
    assert "没有工作簿附件" in reasons["空邮件.eml"]
    assert "说明.txt" not in problems

    # every good input still counts, with its own figures; the hand-made form with what it shows
    assert set(counted) == {*names[:6], "市手填局"}
    assert counted[names[0]]["total"] == units[0].expected["total"]
    assert Path(counted[names[0]]["source"]).name == f"{names[0]}.xlsx"  # the later 填报日期 wins
    assert counted["市手填局"]["total"] == "98.30"
    assert counted[names[1]]["total"] == units[1].expected["total"]  # the embedded figures, not the edit


@pytest.mark.parametrize("amount", ["NaN", "-Infinity", "1e999", "-5", None, ""])
def test_embedded_amounts_that_are_no_amounts(city, tmp_path, amount):
    """Data edited into nonsense, digest recomputed: the file is read from its visible form instead."""
    folder, units = city
    path = tmp_path / "怪.xlsx"
    rewrite_embedded(folder / "workbooks" / f"{units[0].name}.xlsx", path,
                     lambda d: d["items"][0].update(amount=amount), fix_digest=True)
    code, result = collected_json(path, "--out", tmp_path / "汇总.xlsx")
    assert code == 0 and result["units"][0]["total"] == units[0].expected["total"]
    assert "内嵌数据格式不对；按表格可见内容读取" in result["problems"][0]["message"]


def test_a_submission_scored_with_other_rules_is_flagged_not_recomputed(city, tmp_path):
    folder, units = city
    path = tmp_path / "旧规则.xlsx"
    rewrite_embedded(folder / "workbooks" / f"{units[0].name}.xlsx", path,
                     lambda d: d["rules"].update(sha256="0" * 64), fix_digest=True)
    code, result = collected_json(path, "--out", tmp_path / "汇总.xlsx")
    assert code == 0 and result["units"][0]["total"] == units[0].expected["total"]
    assert [p["message"] for p in result["problems"]] == [
        f"{units[0].name}：按另一版本的 2026 年规则计分（规则文件不同），未重算核对"]


def test_an_edited_visible_total_is_flagged(city, tmp_path):
    folder, units = city
    source, path = folder / "workbooks" / f"{units[0].name}.xlsx", tmp_path / "改合计.xlsx"
    rows = CalamineWorkbook.from_path(str(source)).get_sheet_by_name("附件1").to_python()
    r = next(i for i, row in enumerate(rows) if str(row[0]).startswith("合计")) + 1
    with open(source, "rb") as old, open(path, "wb") as new:
        patch_package(old, new, {"附件1": {f"J{r}": Decimal("99.99")}})
    code, result = collected_json(path, "--out", tmp_path / "汇总.xlsx")
    assert code == 0 and result["units"][0]["total"] == units[0].expected["total"]  # the embedded figures
    assert f"合计得分 表格 99.99，原为 {units[0].expected['total']}" in result["problems"][0]["message"]


def test_statistics_and_hand_filled_amounts_round_half_up(tmp_path):
    """单项统计's mean of 0.25 and 0.00 is 0.13, and a hand-filled 0.125 reads as 0.13 (四舍五入,
    where rounding half to even would give 0.12)."""
    from xlpipeline.outputs.collect import collect
    hand_made_form(tmp_path / "甲.xlsx", "甲局", {3: 0.25})
    hand_made_form(tmp_path / "乙.xlsx", "乙局", {3: 0})
    hand_made_form(tmp_path / "丙.xlsx", "丙局", {3: 0.125, 4: 0.125})
    collected = collect([tmp_path / "甲.xlsx", tmp_path / "乙.xlsx"], progress=False)
    assert collected.items.set_index("no").loc[3, "mean"] == Decimal("0.13")
    code, result = collected_json(tmp_path / "丙.xlsx", "--out", tmp_path / "汇总.xlsx")
    items = {i["no"]: i["deduction"] for i in result["units"][0]["items"]}
    assert items[3] == items[4] == "0.13" and result["units"][0]["total"] == "99.74"


def test_a_hand_made_form_with_nonsense_in_its_cells(tmp_path):
    path = tmp_path / "手填.xlsx"
    hand_made_form(path, "市手填局", {1: "NaN", 2: "-3", 3: "1e999", 4: "0.5分", 5: float("inf"), 6: "+1.2"})
    code, result = collected_json(path, "--out", tmp_path / "汇总.xlsx")
    assert code == 0 and result["units"][0]["total"] == "98.30"  # only 0.5分 and +1.2 are amounts


def test_problems_are_listed_in_the_workbook(inbox, tmp_path):
    box, _, names = inbox
    out = tmp_path / "汇总.xlsx"
    assert run("collect", box, "--out", out)[0] == 1
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("问题清单").to_python()
    listed = {Path(r[0]).name: (r[1], r[2]) for r in rows[4:] if r[0]}
    assert listed["损坏.xlsx"][1] == "否" and listed["手填.xlsx"][1] == "是"
    assert "重复提交" in listed[f"{names[0]}_旧.xlsx"][0]


def test_emails_and_archives_with_chinese_names(city, tmp_path):
    folder, units = city
    eml = next((folder / "eml" / units[0].name).glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert any(".xlsx" in (p.get_filename() or "") and "附件1" in p.get_filename() for p in message.iter_attachments())
    archive = tmp_path / "打包.zip"
    gbk = "附件1_甲.xlsx".encode("gbk")  # as a Chinese Windows stores a name: GBK bytes, no UTF-8 flag
    placeholder = b"X" * (len(gbk) - 5) + b".xlsx"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(eml, "邮件/" + eml.name)
        z.writestr(placeholder.decode(), (folder / "workbooks" / f"{units[1].name}.xlsx").read_bytes())
    archive.write_bytes(archive.read_bytes().replace(placeholder, gbk))  # local header and central directory
    code, result = collected_json(archive, "--out", tmp_path / "汇总.xlsx")
    assert code == 0, result["problems"]
    sources = {u["unit"]: u["source"] for u in result["units"]}
    assert sources[units[1].name] == f"{archive} › 附件1_甲.xlsx"
    assert sources[units[0].name].startswith(f"{archive} › {eml.name} › 附件1_")


def test_a_working_workbook_is_told_apart_and_an_open_rollup_refused(city, tmp_path):
    folder, units = city
    code, result = collected_json(units[0].workbook, "--out", tmp_path / "汇总.xlsx")
    assert code == 1 and "这是考评工作簿（含“扣分台账”），不是附件" in result["problems"][0]["message"]
    (tmp_path / ".~lock.全市.xlsx#").write_text("x")  # LibreOffice has last run's roll-up open
    code, out = run("collect", folder / "workbooks", "--out", tmp_path / "全市.xlsx")
    assert code == 2 and not (tmp_path / "全市.xlsx").exists()


def test_nothing_to_collect_and_unknown_assessor(tmp_path):
    code, out = run("collect", tmp_path / "没有.xlsx", "--out", tmp_path / "汇总.xlsx")
    assert code == 2 and not (tmp_path / "汇总.xlsx").exists()  # a mistyped input: said, nothing written
    code, _ = run("collect", tmp_path, "--as", "不存在的单位", "--out", tmp_path / "汇总.xlsx")
    assert code == 2


def test_collect_never_overwrites_by_surprise(city, tmp_path, monkeypatch):
    """Issue 25, item 4: --json alone writes no workbook; a mistyped input writes nothing; the xlsx
    and its PDF are written together or not at all."""
    folder, units = city
    monkeypatch.chdir(tmp_path)
    code, result = collected_json(folder / "workbooks")
    assert code == 0 and len(result["units"]) == 60 and not (tmp_path / "汇总.xlsx").exists()
    assert run("collect", folder / "workbooks", "--as", "市委组织部")[0] == 0
    before = (tmp_path / "汇总.xlsx").read_bytes()
    assert run("collect", tmp_path / "收件相")[0] == 2  # mistyped
    code, _ = collected_json(folder / "workbooks", "--as", "市委办")
    assert code == 0 and (tmp_path / "汇总.xlsx").read_bytes() == before
    monkeypatch.setenv("PATH", "")  # no LibreOffice: no PDF, so no new roll-up either
    assert run("collect", folder / "workbooks", "--pdf")[0] == 2
    assert (tmp_path / "汇总.xlsx").read_bytes() == before and not (tmp_path / "汇总.pdf").exists()


def test_frames(city, tmp_path):
    from xlpipeline.frames import log_frame, results_frame
    folder, units = city
    cases = log_frame(units[5].workbook)
    assert list(cases["code"]) == [row[2] for row in log_rows(5)]
    deduction_items = {i.no for i in RULES.items if i.kind == "deduction"}
    counted = sum((c for c, item in zip(cases["counted"], cases["item"]) if item in deduction_items), Decimal(0))
    assert counted == sum(Decimal(i["deduction"]) for i in units[5].expected["items"] if i["no"] in deduction_items)
    assert all(p >= c for p, c in zip(cases["points"], cases["counted"]))  # caps only take away
    frame = results_frame([folder / "workbooks"])
    assert len(frame) == 60
    assert f"{frame.loc[units[7].name, 'total']:.2f}" == units[7].expected["total"]
    assert f"{frame.loc[units[7].name, 9]:.2f}" == units[7].expected["items"][8]["deduction"]
    assert frame.attrs["problems"] == []
    theirs = results_frame([folder / "workbooks"], assessor="市委组织部")
    items = groups(RULES, "考评单位")["市委组织部"]
    assert [c for c in theirs.columns if isinstance(c, int)] == items
    _, as_json = collected_json(folder / "workbooks", "--as", "市委组织部", "--out", tmp_path / "组织部.xlsx")
    assert {u["unit"]: u["total"] for u in as_json["units"]} == {u: f"{t:.2f}" for u, t in theirs["total"].items()}


def test_collect_keeps_pandas_off_the_score_path(tmp_path):
    import subprocess
    import sys
    from xlpipeline.resources import DEMO_WORKBOOK
    probe = ("import sys; from xlpipeline.cli import main; main(['score', '--dry-run', sys.argv[1]]); "
             "assert 'pandas' not in sys.modules and 'openpyxl' not in sys.modules, 'loaded'")
    proc = subprocess.run([sys.executable, "-c", probe, str(DEMO_WORKBOOK)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# --- what the assessor sees and what Excel checks -------------------------------------------------

def bars_on_pages(pdf: Path, folder: Path) -> list[int]:
    """Per rendered page, how many separate bars of the charts' blue it shows (pdftoppm, colour PPM)."""
    subprocess.run(["pdftoppm", "-r", "100", str(pdf), str(folder / "page")], check=True)
    found = []
    for page in sorted(folder.glob("page*.ppm")):
        _, size, _, pixels = page.read_bytes().split(b"\n", 3)  # P6, "W H", 255, then RGB bytes
        width = int(size.split()[0])
        columns = {(i // 3) % width for i in range(0, len(pixels) - 2, 3)
                   if pixels[i + 2] - pixels[i] > 60 and pixels[i + 2] > 120}
        found.append(sum(1 for x in columns if x - 1 not in columns))
    return found


def smallest_text(pdf: Path) -> float:
    """The height, in points, of the smallest word printed in a PDF (pdftotext's word boxes)."""
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
    return min(float(b) - float(a) for a, b in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', boxes))


def test_the_rollup_pdf_shows_its_charts(city, tmp_path):
    require("soffice", "libreoffice-calc-nogui")
    require("pdftoppm", "poppler-utils")
    folder, units = city
    code, out = run("collect", folder / "workbooks", "--out", tmp_path / "汇总.xlsx", "--pdf")
    assert code == 0, out
    pdf = tmp_path / "汇总.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    pages = text.split("\f")
    assert all("创建模范机关考评汇总" in p.splitlines()[0] for p in pages if p.strip())  # the page header
    assert all("排名" in p for p in pages if "考评汇总 · " not in p and p.strip())  # 汇总's header on its pages
    assert smallest_text(pdf) >= 8  # 汇总's 38 columns over several pages at full size, not shrunk to 5 pt
    assert all("市直单位" in p for p in pages if "考评汇总 · " not in p and p.strip())  # 单位 repeated on each
    (tmp_path / "pages").mkdir()
    bars = bars_on_pages(pdf, tmp_path / "pages")
    assert len(units) in bars  # a bar per unit: the chart's range grew with the table
    assert len(RULES.blocks) in bars  # a bar per block
    assert bars.index(len(units)) != bars.index(len(RULES.blocks))
    assert_simplified_chinese(pdf)


def test_the_assessors_rollup_pdf_prints_simplified_forms(city, tmp_path):
    """With --as too (issue 25, item 1): the Han characters in their Simplified-Chinese forms."""
    require("soffice", "libreoffice-calc-nogui")
    folder, _ = city
    code, out = run("collect", folder / "workbooks", "--as", "市委组织部", "--out", tmp_path / "组织部.xlsx", "--pdf")
    assert code == 0, out
    assert_simplified_chinese(tmp_path / "组织部.pdf")


@pytest.fixture(scope="module")
def dml_schemas():
    from conftest import SCHEMAS
    return {name: etree.XMLSchema(etree.parse(str(SCHEMAS / name)))
            for name in ("dml-chart.xsd", "dml-spreadsheetDrawing.xsd", "shared-customXmlDataProperties.xsd")}


def test_every_part_of_the_rollup_is_valid(city, tmp_path, sml, dml_schemas):
    from test_schema import as_read, assert_valid
    folder, _ = city
    out = tmp_path / "汇总.xlsx"
    assert run("collect", folder / "eml", "--as", "市委宣传部", "--out", out)[0] == 0
    assert_valid(out, sml)
    with zipfile.ZipFile(out) as z:
        kinds = {"xl/charts/chart": "dml-chart.xsd", "xl/drawings/drawing": "dml-spreadsheetDrawing.xsd",
                 "customXml/itemProps": "shared-customXmlDataProperties.xsd"}
        checked = 0
        for name in z.namelist():
            schema = next((dml_schemas[s] for prefix, s in kinds.items() if name.startswith(prefix)), None)
            if schema is not None:
                assert schema.validate(as_read(z.read(name))), f"{name}: {schema.error_log.last_error}"
                checked += 1
        assert checked == 4  # two charts, the drawing that holds them, the data's properties
        chart = etree.fromstring(z.read("xl/charts/chart1.xml"))
        c = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
        for name in ("xl/charts/chart1.xml", "xl/charts/chart2.xml"):  # every value axis starts at zero
            axes = etree.fromstring(z.read(name)).iter(f"{c}valAx")
            assert [a.find(f"{c}scaling/{c}min").get("val") for a in axes] == ["0"], name
    assert [f.text for f in chart.iter(f"{c}f")] == ["'汇总'!$B$5:$B$64", "'汇总'!$C$5:$C$64"]
    names = [v.text for v in chart.iter(f"{c}strCache") for v in v.iter(f"{c}v")]
    totals = [v.text for v in chart.iter(f"{c}numCache") for v in v.iter(f"{c}v")]
    assert len(names) == len(totals) == 60 and names[0].startswith("市直单位")  # cached for previews


def test_a_template_showing_other_figures_is_refused(tmp_path, cli):
    """Visible form and embedded data agree when we write them: a restyled template whose 扣分
    column shows something else stops submit, and nothing is written."""
    from openpyxl import load_workbook
    from xlpipeline.resources import DEMO_WORKBOOK, TEMPLATE
    template = tmp_path / "模板.xlsx"
    wb = load_workbook(TEMPLATE)
    wb["附件1"]["I5"] = "{{ item.block_score }}"  # the block's score where the deduction belongs
    wb.save(template)
    status, _, err = cli("submit", DEMO_WORKBOOK, "--template", template, "--out", tmp_path / "附件.xlsx")
    assert status == 2 and "附件1模板显示的分数与计分结果不一致" in err and "第1项扣分 表格 7.00，计分 0.50" in err
    assert not (tmp_path / "附件.xlsx").exists()


@pytest.mark.parametrize("by", ["考评单位", "责任科室", "考评指标"])
def test_every_attachment_embeds_what_its_form_shows(tmp_path, cli, by):
    from xlpipeline.resources import DEMO_WORKBOOK
    assert cli("batch", DEMO_WORKBOOK, "--by", by, "--out-dir", tmp_path)[0] == 0
    files = sorted(tmp_path.glob("*.xlsx"))
    assert files
    for path in files:
        data, _ = attachment_data(path)
        shown = data["form"]["visible"]["items"]
        assert sorted(map(int, shown)) == data["form"]["items"]
        if by != "责任科室":  # a department's form shows its share of each item
            assert shown == {str(i["no"]): i["amount"] for i in data["items"] if i["no"] in data["form"]["items"]}


def test_file_names_and_data_xml_cannot_carry(city, tmp_path):
    """A file name that is not UTF-8 (Linux keeps its bytes as lone surrogates) and embedded text
    with characters XML cannot hold still make a roll-up: listed, never a crash."""
    import os
    folder, units = city
    (tmp_path / "in").mkdir()
    odd = os.path.join(os.fsencode(tmp_path / "in"), b"\xb8\xbd\xbc\xfe.xlsx")  # GBK bytes of 附件
    with open(odd, "wb") as f:
        f.write((folder / "workbooks" / f"{units[0].name}.xlsx").read_bytes())
    rewrite_embedded(folder / "workbooks" / f"{units[1].name}.xlsx", tmp_path / "in" / "怪.xlsx",
                     lambda d: d.update(unit="单位\ud800\ufffe", round="\uffff"), fix_digest=True)
    code, result = collected_json(tmp_path / "in", "--out", tmp_path / "汇总.xlsx")
    assert code == 0 and len(result["units"]) == 2
    rows = CalamineWorkbook.from_path(str(tmp_path / "汇总.xlsx")).get_sheet_by_name("汇总").to_python()
    assert {r[1] for r in rows[4:6]} == {units[0].name, "单位"}


def test_custom_xml_goes_beside_what_a_package_already_has(tmp_path, cli):
    """A package with custom XML parts of its own (or a stray relationships part where ours would
    go) keeps them; ours takes the next free number, and no part name is written twice."""
    from xlpipeline.ooxml.customxml import add_custom_xml, read_custom_xml
    from xlpipeline.resources import DEMO_WORKBOOK
    first = tmp_path / "附件.xlsx"
    assert cli("submit", DEMO_WORKBOOK, "--out", first)[0] == 0
    stray = tmp_path / "stray.xlsx"
    with zipfile.ZipFile(first) as zin, zipfile.ZipFile(stray, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        zout.writestr("customXml/_rels/item2.xml.rels", b"<Relationships/>")
    out = io.BytesIO()
    with open(stray, "rb") as source:
        add_custom_xml(source, out, b'<other xmlns="urn:example:other"/>', "urn:example:other")
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert len(names) == len({n.lower() for n in names})
        assert "customXml/item3.xml" in names and "customXml/itemProps3.xml" in names
        assert len(read_custom_xml(z, SCHEMA)) == 1 and len(read_custom_xml(z, "urn:example:other")) == 1
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    ids = re.findall(r'Id="([^"]+)"', rels)
    assert rels.count('relationships/customXml"') == 2 and len(ids) == len(set(ids))
