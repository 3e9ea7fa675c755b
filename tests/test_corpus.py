"""Other tools' workbooks get our sheets added and are scored; nothing of theirs is lost."""
from __future__ import annotations

import io
import shutil
import zipfile
from collections import Counter
from decimal import Decimal

import pytest
from lxml import etree

from conftest import pdf_pages
from corpus import CUSTOM_UI, decorated, with_custom_ui
from test_writeback import (MAIN, OWNED_CELLS, assert_copied_as_stored, cells, changed_cells, parts,
                            without_sheet_data)
from xlpipeline.workbook.layout import FORM, LEDGER, SUMMARY
from xlpipeline.workbook.live import LIVE
from xlpipeline.ooxml.parts import sheet_parts
from xlpipeline.ooxml.patch import patch_package

STRUCTURE = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml"}
VBA = b"\xd0\xcf\x11\xe0 not a real VBA project, but bytes that must survive"


@pytest.fixture(params=["xlsxwriter", "libreoffice", "xlsm"])
def corpus_file(request, tmp_path):
    if request.param == "xlsxwriter":
        return decorated(tmp_path / "装饰.xlsx")
    if request.param == "xlsm":
        return with_custom_ui(decorated(tmp_path / "宏.xlsm", vba=VBA))
    soffice = request.getfixturevalue("soffice")
    (tmp_path / "src").mkdir()
    return soffice(decorated(tmp_path / "src" / "另存.xlsx"), "xlsx:Calc MS Excel 2007 XML", tmp_path)


def leaves(xml: bytes) -> Counter:
    """The part's leaf elements, each as (tag, attributes, text), counted."""
    return Counter((e.tag, tuple(sorted(e.attrib.items())), (e.text or "").strip())
                   for e in etree.fromstring(xml).iter() if isinstance(e.tag, str) and len(e) == 0)


def fill_log(path):
    """Type a few cases and the parameters in, as a user would: here through our own patcher."""
    edits = {LEDGER: {"A2": "2026-03-01", "C2": "9.D", "D2": Decimal(12), "A3": "2026-04-02", "C3": "11.B",
                      "D3": Decimal(1)},
             "参数": {"B4": Decimal("95"), "B5": Decimal(8)}}
    out = io.BytesIO()
    with open(path, "rb") as source:
        patch_package(source, out, edits)
    path.write_bytes(out.getvalue())


def test_add_sheets_and_score_keeps_everything(cli, corpus_file, to_pdf, tmp_path):
    original = parts(corpus_file)
    status, _, err = cli("init", corpus_file, "--add")
    assert status == 0, err
    added = parts(corpus_file)
    for name, data in original.items():
        if name not in STRUCTURE:
            assert added[name] == data, name
        else:  # every leaf element of theirs is kept whole: tag, every attribute, text
            lost = leaves(data) - leaves(added[name])
            assert not lost, (name, lost)
    styles = etree.fromstring(added["xl/styles.xml"])
    formats = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(f"{MAIN}numFmt")}
    assert len(formats) == len(list(styles.iter(f"{MAIN}numFmt"))), "a number format id used twice"
    assert '0.0%"达标"' in formats.values()  # theirs (and kept under its id: the leaves above)
    with zipfile.ZipFile(corpus_file) as z:
        sheets = sheet_parts(z)
    names = list(sheets)
    assert names[0] == "数据" and names[-10:] == [FORM, LEDGER, "参数", "规则", SUMMARY, "通讯录", LIVE, "工作日历",
                                                 "科室通讯录", "工作进度"]
    # our red-deduction rule points at our differential format, after theirs
    dxfs = etree.fromstring(added["xl/styles.xml"]).find(f"{MAIN}dxfs")
    (rule,) = etree.fromstring(added[sheets[FORM]]).iter(f"{MAIN}cfRule")
    assert int(rule.get("dxfId")) >= 1 and len(dxfs) == int(dxfs.get("count"))
    assert dxfs[int(rule.get("dxfId"))].find(f"{MAIN}font/{MAIN}color").get("rgb").endswith("C00000")

    fill_log(corpus_file)
    before_score = parts(corpus_file)
    shutil.copyfile(corpus_file, tmp_path / f"before{corpus_file.suffix}")
    status, out, err = cli("score", corpus_file, "--json")
    assert status == 0, err
    assert '"total": "95.35"' in out  # D: 12 × 0.1; F: 1 + (20 − 1) × 5% = 1.95; G: rank 8 → 1.5
    after = parts(corpus_file)
    with zipfile.ZipFile(corpus_file) as z:
        sheets = sheet_parts(z)
    patched = {sheets[FORM], sheets[SUMMARY], sheets[LIVE], sheets["工作进度"], "xl/workbook.xml"}
    assert after.keys() == before_score.keys()
    for name in after:
        if name not in patched:
            assert after[name] == before_score[name], name
    assert_copied_as_stored(tmp_path / f"before{corpus_file.suffix}", corpus_file, patched)
    for sheet in (FORM, SUMMARY, LIVE):
        old, new = before_score[sheets[sheet]], after[sheets[sheet]]
        assert without_sheet_data(old, sheet) == without_sheet_data(new, sheet)
        assert all(cells(new)[ref].get("s") == cell.get("s") for ref, cell in cells(old).items())
        assert changed_cells(old, new) <= OWNED_CELLS[sheet]
    if corpus_file.suffix == ".xlsm":
        assert after["xl/vbaProject.bin"] == VBA and after["customUI/customUI14.xml"] == CUSTOM_UI
        assert b"vbaProject" in after["[Content_Types].xml"] and b"ui/extensibility" in after["_rels/.rels"]

    pdf_source = tmp_path / "查看" / ("查看" + corpus_file.suffix)
    pdf_source.parent.mkdir()
    shutil.copyfile(corpus_file, pdf_source)
    text = "\n".join(pdf_pages(to_pdf(pdf_source)))
    assert "95.35" in text
    assert "市散墙办创建模范机关任务清单" in text and "案件数" in text


def test_add_a_second_time_changes_nothing(cli, tmp_path):
    path = decorated(tmp_path / "装饰.xlsx")
    assert cli("init", path, "--add")[0] == 0
    before = path.read_bytes()
    status, out, _ = cli("init", path, "--add")
    assert status == 0 and "已有全部工作表，未作改动" in out
    assert path.read_bytes() == before
