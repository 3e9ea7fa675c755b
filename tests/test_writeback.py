"""Write-back: the owned cells get the results; everything else in the package stays as it was."""
from __future__ import annotations

import io
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zipfile
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import psutil
import pytest
from lxml import etree
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from xlpipeline.scoring.explain import explanations
from xlpipeline.workbook.layout import FORM, PROGRESS, SUMMARY, FormLayout, SummaryLayout
from xlpipeline.pipeline import score_workbook
from xlpipeline.ooxml.safesave import BACKUP_DIR, BACKUPS_KEPT
from xlpipeline.workbook.textfit import wrapped_lines
from xlpipeline.workbook.live import LIVE, owned_formulas
from xlpipeline.ooxml.parts import Formula, sheet_parts, split_ref
from xlpipeline.ooxml.patch import PatchError, patch_package

HOSTILE = '=HYPERLINK("http://x")'
ROWS = [(date(2026, 3, 1), 1, "1.A", 1, None, "说明", HOSTILE, "综合科"),
        (date(2026, 3, 2), None, "1.B", 3), (date(2026, 4, 2), None, "9.D", 31),
        (date(2026, 4, 3), None, "12.B", 1, "非市管干部"), (date(2026, 5, 3), None, "22.A", 1, "办公厅名义")]
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def raw_members(path) -> dict[str, tuple]:
    """Each member as stored: (method, CRC, compressed bytes), read past its local header."""
    found = {}
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        for info in z.infolist():
            f.seek(info.header_offset)
            header = f.read(30)
            assert header[:4] == b"PK\x03\x04", info.filename
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            f.seek(info.header_offset + 30 + name_length + extra_length)
            found[info.filename] = (info.compress_type, info.CRC, f.read(info.compress_size))
    return found


def assert_copied_as_stored(before, after, changed: set[str]) -> None:
    """Every member not in `changed` is byte for byte the same as stored: not recompressed."""
    old, new = raw_members(before), raw_members(after)
    for name in old.keys() - changed:
        assert new[name] == old[name], f"{name} was recompressed or changed"


def cells(sheet_xml: bytes) -> dict[str, etree._Element]:
    root = etree.fromstring(sheet_xml)
    return {c.get("r"): c for c in root.iter(f"{MAIN}c")}


def changed_cells(before: bytes, after: bytes) -> set[str]:
    old, new = cells(before), cells(after)
    return {ref for ref in old.keys() | new.keys()
            if ref not in old or ref not in new or etree.tostring(old[ref]) != etree.tostring(new[ref])}


def refs(*ranges: str) -> set[str]:
    """Cell references in ranges like "I4:I26" (one column each) or single cells."""
    found = set()
    for text in ranges:
        first, _, last = text.partition(":")
        column = first.rstrip("0123456789")
        found |= {f"{column}{row}" for row in range(int(first[len(column):]), int((last or first)[len(column):]) + 1)}
    return found


# The cells scoring may write, written out from 附件1's layout rather than asked of the writer:
# 任务清单 rows 4–25 are items 1–22 and row 26 is 合计 (扣分 I, 得分 J at each block's first row, 扣分说明 K);
# 得分汇总 has the unit and year, items D4:D25, blocks D28:D34, bonus D36, total D37 and the warnings B38;
# 实时计分 keeps its figures (in hundredths) beside its formulas in D.
OWNED_CELLS = {
    FORM: refs("I4:I26", "K4:K26", "J4", "J6", "J7", "J9", "J13", "J14", "J21", "J26"),
    SUMMARY: refs("B2", "D2", "D4:D25", "D28:D34", "D36:D37", "B38"),
    LIVE: refs("D105:D126", "D129:D135", "D137:D139"),
    PROGRESS: refs("B2", *(f"{c}5:{c}16" for c in "ABCDE"), *(f"{c}20:{c}41" for c in "ABCDE")),  # date, 科室, items
}


def without_sheet_data(sheet_xml: bytes, sheet: str) -> bytes:
    """The sheet part but its cells (and, for 任务清单, the page breaks score sets between blocks)."""
    root = etree.fromstring(sheet_xml)
    root.remove(root.find(f"{MAIN}sheetData"))
    if sheet == FORM and root.find(f"{MAIN}rowBreaks") is not None:
        breaks = root.find(f"{MAIN}rowBreaks")
        assert {int(b.get("id")) for b in breaks} <= BLOCK_ENDS, "a page break inside a block"
        root.remove(breaks)
    return etree.tostring(root, method="c14n")


BLOCK_ENDS = {5, 6, 8, 12, 13, 20, 25}  # 任务清单's last row of each block (item n is row n + 3)


def as_text(wb):
    """The user typed '=HYPERLINK… (with Excel's leading apostrophe): a text cell, not a formula."""
    wb["扣分台账"]["G2"].data_type = "s"


@pytest.fixture
def scored(make_workbook, tmp_path):
    path = make_workbook(ROWS, satisfaction=90, rank=9, edit=as_text)
    before = parts(path)
    shutil.copyfile(path, tmp_path / "before.xlsx")
    result = score_workbook(path)
    return path, before, parts(path), result


def test_values_read_back(scored, rules):
    path, _, _, result = scored
    results = result.results
    form, summary = FormLayout(rules), SummaryLayout(rules)
    book = CalamineWorkbook.from_path(str(path))
    sheet = book.get_sheet_by_name(FORM).to_python()
    value = lambda rows, ref: rows[split_ref(ref)[0] - 1][split_ref(ref)[1] - 1]  # noqa: E731
    for item in results.items:
        assert Decimal(str(value(sheet, form.deduction_cell(item.no)))) == item.amount
    for block in results.blocks:
        assert Decimal(str(value(sheet, form.block_score_cell(block.id)))) == block.score
    assert value(sheet, f"J{form.total_row}") == pytest.approx(float(results.total))
    assert value(sheet, "I26") == pytest.approx(11.45)  # 合计 扣分: the deductions, not the bonus
    assert value(sheet, "J26") == pytest.approx(89.55) and value(sheet, "K26") == "各分块得分合计 88.55，加分 1.00"
    assert results.total == Decimal("89.55")  # A 6, B 10, C 15, D 12, E 5, F 20−0.5−1.95, G 25−2, bonus 1
    assert "2026-03-02 1.B 省级通报问责 / 较大负面影响×3：扣 2.00 分（该情形最多扣 2.00 分，本条原为 3.00 分）" \
        in value(sheet, form.explanation_cell(1))
    assert "（依据 =HYPERLINK(\"http://x\")）" in value(sheet, form.explanation_cell(1))
    rows = book.get_sheet_by_name(SUMMARY).to_python()
    assert value(rows, f"D{summary.total_row}") == pytest.approx(89.55)
    assert value(rows, f"D{summary.bonus_row}") == 1
    assert value(rows, summary.unit_cell) == "市散墙办"


def test_only_owned_cells_change(scored, rules):
    path, before, after, _ = scored
    assert before.keys() == after.keys()
    with zipfile.ZipFile(path) as z:
        sheets = sheet_parts(z)
    owned_parts = {sheets[FORM], sheets[SUMMARY], sheets[LIVE], sheets[PROGRESS], "xl/workbook.xml"}
    for name in before:
        if name not in owned_parts:
            assert before[name] == after[name], name
    assert_copied_as_stored(path.with_name("before.xlsx"), path, owned_parts)
    for sheet in (FORM, SUMMARY, LIVE, PROGRESS):
        part = sheets[sheet]
        assert without_sheet_data(before[part], sheet) == without_sheet_data(after[part], sheet)  # merges, print…
        old, new = cells(before[part]), cells(after[part])
        assert old.keys() <= new.keys()
        for ref, cell in old.items():
            assert new[ref].get("s") == cell.get("s"), ref  # every style kept
        assert changed_cells(before[part], after[part]) <= OWNED_CELLS[sheet]
    assert {ref[0] for ref in changed_cells(before[sheets[FORM]], after[sheets[FORM]])} == {"I", "J", "K"}
    book = etree.fromstring(after["xl/workbook.xml"])
    assert book.find(f"{MAIN}calcPr").get("fullCalcOnLoad") == "1"


def test_rows_grow_to_fit_the_explanations(scored, rules):
    path, before, _, result = scored
    form = load_workbook(path)[FORM]
    texts = explanations(rules, result.results)
    layout = FormLayout(rules)
    for no in (1, 9):
        needed = wrapped_lines(texts[no], 40) * 15
        assert form.row_dimensions[layout.item_row(no)].height >= needed, no
    original = load_workbook(io.BytesIO(_zip(before)))[FORM]
    for no in range(1, 23):  # never lower than the row was
        row = layout.item_row(no)
        assert form.row_dimensions[row].height >= (original.row_dimensions[row].height or 15)


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def test_text_is_never_a_formula(scored, rules):
    path, _, after, _ = scored
    wb = load_workbook(path)
    cell = wb[FORM][FormLayout(rules).explanation_cell(1)]
    assert cell.data_type == "s" and "HYPERLINK" in cell.value
    with zipfile.ZipFile(path) as z:
        form_xml = z.read(sheet_parts(z)[FORM])
    formula_cells = {c.get("r") for c in etree.fromstring(form_xml).iter(f"{MAIN}c") if c.find(f"{MAIN}f") is not None}
    assert formula_cells == set(owned_formulas(rules)[FORM])  # only our live figures are formulas


def test_openpyxl_still_reads_everything(scored):
    path, *_ = scored
    wb = load_workbook(path)
    assert wb.sheetnames == ["任务清单", "扣分台账", "参数", "规则", "得分汇总", "通讯录", "实时计分", "工作日历", "科室通讯录",
                             "工作进度"]
    form = wb[FORM]
    assert form.print_title_rows == "$3:$3" and form.page_setup.orientation == "landscape"
    assert "B4:B6" in {str(r) for r in form.merged_cells.ranges}
    assert len(wb["扣分台账"].data_validations.dataValidation) == 5


def test_rescoring_is_stable(scored):
    path, _, after, _ = scored
    score_workbook(path)
    assert parts(path) == after


def test_dry_run_writes_nothing(make_workbook):
    path = make_workbook(ROWS)
    before = path.read_bytes()
    score_workbook(path, dry_run=True)
    assert path.read_bytes() == before


def test_backups_kept(make_workbook):
    path = make_workbook(ROWS)
    first = path.read_bytes()
    result = score_workbook(path)
    assert result.backup.read_bytes() == first
    for _ in range(BACKUPS_KEPT + 2):
        score_workbook(path)
    assert len(list((path.parent / BACKUP_DIR).iterdir())) == BACKUPS_KEPT


@pytest.mark.parametrize("lock, program", [("~$考评.xlsx", "Excel 或 WPS"), (".~lock.考评.xlsx#", "LibreOffice"),
                                           (".~考评.xlsx", "WPS")])
def test_refuses_while_open_elsewhere(cli, make_workbook, lock, program, tmp_path):
    """Every command that reads the workbook (issue 25, item 5): the open one may hold unsaved cases."""
    path = make_workbook(ROWS)
    (path.parent / lock).write_text("x")
    before = path.read_bytes()
    for command in (["score"], ["score", "--dry-run"], ["submit"], ["batch", "--by", "考评单位"],
                    ["send", "--dry-run"], ["calendar"], ["remind", "--dry-run"]):
        status, out, err = cli(*command, path)
        assert status == 2 and f"正在 {program} 中打开" in err and "重启之前" not in err, (command, err)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == sorted(["考评.xlsx", lock])


def test_a_lock_file_from_before_the_last_boot_is_called_stale(cli, make_workbook):
    import os
    path = make_workbook(ROWS)
    lock = path.parent / "~$考评.xlsx"
    lock.write_text("x")
    os.utime(lock, (0, 0))  # 1970: before any boot
    status, _, err = cli("score", path)
    assert status == 2 and "重启之前留下的" in err and f"删除 {lock}" in err


@pytest.mark.parametrize("folder", [".", "./", "/"])
def test_a_folder_is_said_to_be_one(cli, folder):
    status, _, err = cli("score", folder)
    assert status == 2 and "这是一个文件夹，不是工作簿" in err


def test_patcher_refuses_a_value_over_a_formula(blank_workbook, rules):
    ref = FormLayout(rules).deduction_cell(3)  # holds our live formula
    with pytest.raises(PatchError, match=f"^{FORM}!{ref}: 是公式单元格，程序不会覆盖公式"):
        patch(blank_workbook, {FORM: {ref: Decimal(1)}})
    with pytest.raises(PatchError, match=f"^{FORM}!{ref}: 公式已被改动，程序不会覆盖"):
        patch(blank_workbook, {FORM: {ref: Formula("1+1", 2)}})


def test_a_users_formula_in_an_owned_cell_is_left_alone(cli, make_workbook, rules):
    ref = FormLayout(rules).deduction_cell(3)

    def edit(wb):
        wb[FORM][ref] = "=1+1"
    path = make_workbook(ROWS, edit=edit)
    status, out, err = cli("score", path)
    assert status == 0, err
    assert f"提示：{FORM}!{ref}：实时公式已被改动，程序未覆盖；加 --restore-formulas 可恢复公式" in out
    assert load_workbook(path)[FORM][ref].value == "=1+1"
    status, out, err = cli("score", path, "--restore-formulas")
    assert status == 0 and f"已恢复 1 处实时公式：{FORM}!{ref}" in out
    assert load_workbook(path)[FORM][ref].value == "=" + owned_formulas(rules)[FORM][ref]


def patch(path, edits, heights=None) -> bytes:
    out = io.BytesIO()
    with open(path, "rb") as source:
        patch_package(source, out, edits, heights)
    return out.getvalue()


def test_patcher_refuses_merged_non_anchor(blank_workbook):
    with pytest.raises(PatchError, match=r"任务清单!J5: 位于合并单元格内"):
        patch(blank_workbook, {FORM: {"J5": Decimal(1)}})


def test_patcher_refuses_unknown_sheet(blank_workbook):
    with pytest.raises(PatchError, match="没有工作表“不存在”"):
        patch(blank_workbook, {"不存在": {"A1": 1}})


def test_patcher_new_rows_and_cells_in_order(blank_workbook, tmp_path):
    hostile = "=cmd|' /C calc'!A0"
    data = patch(blank_workbook, {SUMMARY: {"Z900": hostile, "A899": Decimal("0.30"), "C2": "\x01控制字符"}})
    out = tmp_path / "p.xlsx"
    out.write_bytes(data)
    ws = load_workbook(out)[SUMMARY]
    assert ws["Z900"].value == hostile and ws["Z900"].data_type == "s"
    assert ws["A899"].value == 0.3 and ws["C2"].value == "控制字符"
    rows = [int(r.get("r")) for r in etree.fromstring(parts(out)["xl/worksheets/sheet5.xml"]).iter(f"{MAIN}row")]
    assert rows == sorted(rows)


def test_patcher_finds_cells_without_references(tmp_path):
    """Some writers omit the optional r attributes of rows and cells: positions follow on."""
    from openpyxl import Workbook
    wb = Workbook()
    for row in (["甲", "乙", "丙"], [1, 2, 3], [4, 5, 6]):
        wb.active.append(row)
    wb.active.title = "表"
    written = tmp_path / "full.xlsx"
    wb.save(written)
    source = tmp_path / "no_r.xlsx"
    with zipfile.ZipFile(written) as zin, zipfile.ZipFile(source, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<(row|c) r="[A-Z]*\d+"', rb"<\1", data)
                assert b' r="' not in data
            zout.writestr(info, data)
    out = tmp_path / "patched.xlsx"
    out.write_bytes(patch(source, {"表": {"B2": "改", "E5": Decimal("1.5")}}))
    ws = load_workbook(out)["表"]
    assert [[c.value for c in row] for row in ws.iter_rows(max_col=3, max_row=3)] == [
        ["甲", "乙", "丙"], [1, "改", 3], [4, 5, 6]]
    assert ws["E5"].value == 1.5 and ws.dimensions == "A1:E5"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unwritable_folder_is_a_clear_error(cli, make_workbook):
    """A read-only folder (mode 0555). Root ignores modes, so as root the run drops to `nobody`'s
    effective ids for the duration (CI runs as root); nothing here depends on chattr."""
    made = make_workbook(ROWS)
    folder = Path(tempfile.mkdtemp(prefix="xlp-readonly-"))  # /tmp, which `nobody` can enter
    path = folder / made.name
    shutil.copyfile(made, path)
    path.chmod(0o644)
    cli("score", path, "--dry-run")  # everything the score path imports is loaded as ourselves
    before = path.read_bytes()
    folder.chmod(0o555)
    try:
        with unprivileged():
            status, _, err = cli("score", path)
        after = path.read_bytes()
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
    assert status == 2 and str(folder) in err and "不可写" in err, err
    assert after == before


@contextmanager
def unprivileged():
    if os.geteuid() != 0:
        yield
        return
    nobody = 65534
    os.setegid(nobody)
    os.seteuid(nobody)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_patcher_only_grows_rows(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "表"
    ws["A1"] = "有字"
    ws.row_dimensions[2].height = 60   # a tall row the user made, with no cells in it
    ws.row_dimensions[3].hidden = True  # an empty row element
    source = tmp_path / "rows.xlsx"
    wb.save(source)
    out = tmp_path / "grown.xlsx"
    out.write_bytes(patch(source, {}, {"表": {1: 45.0, 2: 30.0, 3: 20.0, 7: 25.0}}))
    rows = [r for r in etree.fromstring(parts(out)["xl/worksheets/sheet1.xml"]).iter(f"{MAIN}row")]
    assert [r.get("r") for r in rows] == ["1", "2", "3", "7"]  # no row twice, new ones in order
    heights = {r.get("r"): float(r.get("ht")) for r in rows}
    assert heights == {"1": 45.0, "2": 60.0, "3": 20.0, "7": 25.0}  # 2 kept its 60



def test_a_libreoffice_lock_whose_program_is_gone_is_called_stale(cli, make_workbook, tmp_path, soffice):
    """LibreOffice names its computer and profile in the lock: none of its processes here uses that
    profile, so the lock is left over. Made by LibreOffice itself: headless, given a workbook and
    nothing to do, it loads it and quits without removing its lock."""
    exe = shutil.which("soffice")  # there: the soffice fixture requires it
    path = make_workbook(ROWS)
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore", str(path)],
                   capture_output=True, timeout=180)
    lock = path.parent / f".~lock.{path.name}#"
    assert lock.exists() and lock.read_text(encoding="utf-8").endswith(f",{profile};")
    status, _, err = cli("score", path)
    assert status == 2 and "所记录的 LibreOffice（本机）已不在运行" in err and f"删除 {lock}" in err, err
    # the same lock while a LibreOffice with that profile runs: open, not stale
    running = subprocess.Popen([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                                "--accept=pipe,name=xlp-lock-test;urp;"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(profile in " ".join(p.info["cmdline"] or ()) and p.info["name"] == "soffice.bin"
                      for p in psutil.process_iter(["name", "cmdline"])):
            assert time.monotonic() < deadline, "LibreOffice did not start"
            time.sleep(0.2)
        status, _, err = cli("score", path)
        assert status == 2 and "正在 LibreOffice 中打开" in err and "看起来" not in err, err
    finally:
        running.terminate()
        running.wait(timeout=60)


def test_a_lock_from_another_computer_is_not_called_stale(cli, make_workbook):
    """A lock on a shared folder written by LibreOffice on a colleague's computer: it may well be open."""
    path = make_workbook(ROWS)
    (path.parent / f".~lock.{path.name}#").write_text(",张三,另一台电脑,02.12.2026 09:00,file:///home/zs/.config/libreoffice/4;")
    status, _, err = cli("score", path)
    assert status == 2 and "正在 LibreOffice 中打开" in err and "看起来" not in err, err
