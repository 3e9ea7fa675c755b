"""The 模范机关考评 tab in WPS (issue 23): the add-in's ribbon against the CustomUI schema, install
and uninstall into a home folder, and its JavaScript run in real Chromium against a stand-in of
WPS's object model (tests/wps_standin.js) talking to the real local service. Only WPS itself cannot
run here: what the stand-in models is said in its header and in the README."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import etree
from openpyxl import load_workbook

from conftest import SCHEMAS, missing
from mailserver import free_port
from web_support import Server, browser
from xlpipeline.pipeline import score_workbook
from xlpipeline.resources import CUSTOM_UI
from xlpipeline.workbook.layout import FORM, LEDGER, PARAM_UNIT, PARAMS, PROGRESS, SUMMARY, param_cell
from xlpipeline.workbook.live import LIVE
from xlpipeline.wps.addin import FOLDER, ribbon_xml

HERE = Path(__file__).resolve().parent
MAIN_JS = Path(__file__).resolve().parents[1] / "xlpipeline" / "wps" / "static" / "main.js"
SHEETS = (FORM, SUMMARY, LIVE, LEDGER, PARAMS, PROGRESS)


def callbacks(xml: bytes) -> list[str]:
    root = etree.fromstring(xml)
    return [v for e in root.iter() if isinstance(e.tag, str) for k, v in e.attrib.items()
            if k in ("onAction", "getEnabled", "onLoad")]


def buttons(xml: bytes) -> list[tuple]:
    return [(e.get("id"), e.get("label"), e.get("onAction")) for e in etree.fromstring(xml).iter()
            if isinstance(e.tag, str) and etree.QName(e).localname in ("button", "menu", "group", "tab")]


def test_the_ribbon_is_the_excel_ribbon_in_wps_customui():
    xml = ribbon_xml()
    if not (SCHEMAS / "customUI.xsd").exists():
        missing(f"{SCHEMAS}/customUI.xsd 不存在")
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "customUI.xsd")))
    schema.assertValid(etree.fromstring(xml))
    assert buttons(xml) == buttons(CUSTOM_UI.read_bytes())  # same ids, labels, order and callbacks
    defined = set(re.findall(r"^(?:async )?function (\w+)\(", MAIN_JS.read_text(encoding="utf-8"), re.M))
    assert set(callbacks(xml)) <= defined and "OnAddinLoad" in callbacks(xml)


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def wps(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlpipeline", "wps", *args], env=Server.environment(home),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("before", ["empty home", "WPS with another add-in"])
def test_install_then_uninstall_leaves_the_home_as_it_was(tmp_path, before):
    home = tmp_path / "home"
    jsaddons = home / ".local/share/Kingsoft/wps/jsaddons"
    home.mkdir()
    if before != "empty home":
        jsaddons.mkdir(parents=True)
        (jsaddons / "publish.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n<jsplugins>\n'
                                              '  <jsplugin name="other" type="wps" url="other_1.0" version="1.0"/>\n'
                                              '</jsplugins>\n', encoding="utf-8")
        (jsaddons / "other_1.0").mkdir()
        (jsaddons / "other_1.0" / "main.js").write_text("// someone else's", encoding="utf-8")
        (home / ".config" / "xlpipeline").mkdir(parents=True)
        (home / ".config" / "xlpipeline" / "recent.json").write_text("[]", encoding="utf-8")
    original = snapshot(home)
    done = wps(home, "install")
    assert done.returncode == 0, done.stderr
    addin = jsaddons / FOLDER
    assert sorted(p.name for p in addin.iterdir()) == ["config.js", "index.html", "main.js", "ribbon.xml"]
    publish = (jsaddons / "publish.xml").read_text(encoding="utf-8")
    assert f'<jsplugin name="xlpipeline" type="et" url="{FOLDER}"' in publish
    assert ("other_1.0" in publish) == (before != "empty home")
    etree.fromstring(publish.encode())  # still well-formed
    assert wps(home, "install").returncode == 0 and publish.count("xlpipeline") == 2  # again: one line still
    assert (jsaddons / "publish.xml").read_text(encoding="utf-8").count('name="xlpipeline"') == 1
    done = wps(home, "uninstall")
    assert done.returncode == 0, done.stderr
    assert snapshot(home) == original


# --- the buttons, in Chromium, against the stand-in and the real service ---------------------------

@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wps-chromium")
    driver = browser(folder / "profile", folder / "downloads")
    yield driver
    driver.quit()


@pytest.fixture
def tab(tmp_path, chrome):
    """The installed add-in, loaded into a page with the stand-in of WPS, and the service running."""
    home = tmp_path / "home"
    home.mkdir()
    assert wps(home, "install", "--port", str(free_port())).returncode == 0
    addin = home / ".local/share/Kingsoft/wps/jsaddons" / FOLDER
    page = tmp_path / "wps.html"
    page.write_text("<!doctype html><meta charset='utf-8'>"
                    + "".join(f"<script src='{p.as_uri()}'></script>" for p in
                              (HERE / "wps_standin.js", addin / "config.js", addin / "main.js")), encoding="utf-8")
    servers = []

    class Tab:
        def serve(self, folder: Path) -> Server:
            servers.append(Server(folder, home))
            return servers[-1]

        def open(self, model) -> None:
            chrome.get(page.as_uri())
            chrome.execute_script("standin.load(arguments[0])", model)

        def press(self, button: str):
            chrome.set_script_timeout(90)
            chrome.execute_async_script(f"const done = arguments[0]; Promise.resolve({button}()).then(done, done)")
            return chrome.execute_script("return standin.state()")

    yield Tab()
    for server in servers:
        assert server.stop() == 0


def model_of(path: Path, **book) -> dict:
    """The workbook as WPS would hold it open: each cell's value, and its formula where it has one."""
    values, formulas = load_workbook(path, data_only=True), load_workbook(path)
    sheets = {}
    for name in SHEETS:
        cells = {}
        for row in formulas[name].iter_rows():
            for cell in row:
                value = values[name][cell.coordinate].value
                formula = cell.value if cell.data_type == "f" else None
                if value is None and formula is None:
                    continue
                if isinstance(value, (datetime, date)):
                    value = value.isoformat()
                cells[cell.coordinate] = {"value": value, "formula": f"={formula.lstrip('=')}" if formula else None}
        sheets[name] = {"cells": cells}
    return {"name": path.name, "folder": str(path.parent), "sheets": sheets, **book}


def written_by_filebook(path: Path, tmp_path: Path) -> tuple[dict, dict]:
    """What `score` writes into a copy of the file: each sheet's cell values and row heights."""
    copy = tmp_path / "filebook" / path.name
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    score_workbook(copy)
    wb = load_workbook(copy, data_only=True)
    return ({name: {c.coordinate: c.value for row in wb[name].iter_rows() for c in row} for name in SHEETS},
            {name: {r: d.height for r, d in wb[name].row_dimensions.items() if d.height} for name in SHEETS})


def unit_007(wb):  # a unit name that looks like a number: written as text, it must stay "007"
    wb[PARAMS][param_cell(PARAM_UNIT)] = "007"


def test_recalculate_makes_the_edits_filebook_makes(tab, make_workbook, tmp_path):
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 3, None, "未参加", "", "综合科"),
                          (date(2026, 4, 8), None, "12.B", 1, "非市管干部", "", "", "")], 92.5, (7, 6), edit=unit_007)
    tab.serve(path.parent)
    tab.open(model_of(path))
    state = tab.press("XlpRecalculate")
    assert state["log"]["alerts"][-1].startswith("总分 ") and state["updating"] is True
    assert state["log"]["updating"] == [False, True]  # off while writing, then back
    values, heights = written_by_filebook(path, tmp_path)
    formulas = model_of(path)["sheets"]
    checked = 0
    for name in (FORM, SUMMARY, PROGRESS):
        for ref, cell in state["sheets"][name]["cells"].items():
            before = formulas[name]["cells"].get(ref, {})
            if before.get("formula"):
                assert cell["formula"] == before["formula"], f"{name}!{ref}: 公式被改动"
                continue
            expected = values[name].get(ref)
            got = cell["value"]
            if isinstance(expected, datetime):  # a date cell: WPS holds its serial day number
                expected = (expected - datetime(1899, 12, 30)).days
            if isinstance(expected, (int, float)) and not isinstance(expected, bool):
                assert isinstance(got, (int, float)) and Decimal(str(got)) == Decimal(str(expected)), (name, ref)
            else:
                assert got == expected, (name, ref, got, expected)
            checked += 1
    assert checked > 40
    assert state["sheets"][SUMMARY]["cells"]["B2"]["value"] == "007"  # text stays text
    before = {r: d.height for r, d in load_workbook(path)[FORM].row_dimensions.items() if d.height}
    set_by_js = {int(row): height for row, height in state["sheets"][FORM]["heights"].items()}
    assert len(set_by_js) >= 21  # every item row asked for its 扣分说明's height
    for row, height in set_by_js.items():  # what the plan asked; the file has it, or was taller already
        assert heights[FORM][row] == max(height, before.get(row, 0)), row


@pytest.mark.parametrize("book, said", [
    (None, "没有打开的工作簿"),
    ({"folder": ""}, "还没有保存"),
    ({"readOnly": True}, "是以只读方式打开的"),
])
def test_each_bad_state_is_refused_with_its_message(tab, make_workbook, book, said):
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 1)], 95, 3)
    tab.serve(path.parent)
    for button in ("XlpRecalculate", "XlpCheckLog", "XlpSubmit", "XlpSendToAssessors"):
        tab.open(None if book is None else {**model_of(path), **book})
        state = tab.press(button)
        assert len(state["log"]["alerts"]) == 1 and said in state["log"]["alerts"][0], (button, state["log"])
        assert state["log"]["panes"] == [] and state["log"]["saves"] == 0


def test_unsaved_changes_are_saved_first_and_said(tab, make_workbook):
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 1)], 95, 3)
    tab.serve(path.parent)
    tab.open({**model_of(path), "saved": False})
    state = tab.press("XlpRecalculate")
    assert state["log"]["saves"] == 1 and state["log"]["alerts"][-1].startswith(f"已先保存“{path.name}”")


def test_a_formula_where_a_value_goes_is_never_overwritten(tab, make_workbook, rules):
    from xlpipeline.workbook.layout import FormLayout
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 1)], 95, 3)
    tab.serve(path.parent)
    model = model_of(path)
    explanation = f"K{FormLayout(rules).item_row(1)}"
    model["sheets"][FORM]["cells"][explanation] = {"value": "我的公式", "formula": '="我的公式"'}
    tab.open(model)
    state = tab.press("XlpRecalculate")
    assert state["log"]["alerts"] == [f"{FORM}!{explanation}: 是公式单元格，程序不会覆盖公式；请清除该单元格的公式"]
    assert state["sheets"][FORM]["cells"] == model["sheets"][FORM]["cells"]  # nothing written


def test_a_protected_sheet_is_named(tab, make_workbook):
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 1)], 95, 3)
    tab.serve(path.parent)
    model = model_of(path)
    model["sheets"][SUMMARY]["protected"] = True
    tab.open(model)
    state = tab.press("XlpRecalculate")
    assert re.match(rf"{SUMMARY}!\w+\d+: WPS 拒绝写入（工作表是否受保护", state["log"]["alerts"][-1])
    assert state["updating"] is True  # screen updating back on after the failure


def test_check_log_marks_and_selects_the_mistakes(tab, make_workbook):
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 1), (date(2025, 3, 2), None, "9.X", 1)], 95, 3)
    tab.serve(path.parent)
    tab.open(model_of(path))
    state = tab.press("XlpCheckLog")
    alert = state["log"]["alerts"][-1]
    assert alert.startswith("台账有 2 处问题") and f"{LEDGER}!A3" in alert and f"{LEDGER}!C3" in alert
    cells = state["sheets"][LEDGER]["cells"]
    assert cells["A3"]["colour"] == cells["C3"]["colour"] == 206 * 65536 + 199 * 256 + 255
    assert "colour" not in cells["A2"]
    assert state["log"]["selection"] == {"sheet": LEDGER, "refs": ["A3", "C3"]} and state["log"]["active"] == LEDGER
    tab.open(model_of(path))
    assert tab.press("XlpRecalculate")["log"]["alerts"][-1].startswith("台账有 2 处问题")  # nothing written then


def test_the_other_buttons_open_the_page_in_a_task_pane(tab, make_workbook, chrome):
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 1)], 95, 3)
    server = tab.serve(path.parent)
    for button, lands, chosen in (("XlpSubmit", "/generate", None), ("XlpBatchByLeader", "/generate", "责任领导"),
                                  ("XlpSendToAssessors", "/send", None)):
        chrome.delete_all_cookies()
        tab.open(model_of(path))
        state = tab.press(button)
        (pane,) = state["log"]["panes"]
        assert pane["Visible"] is True and pane["url"].startswith(f"{server.base}/wps/open?")
        chrome.get(pane["url"])  # what the task pane shows
        assert chrome.current_url.split("?")[0] == server.base + lands
        assert chrome.find_element("id", "workbook-name").text == path.name
        if chosen:
            assert chrome.find_element("css selector", "#batch-by option:checked").text == chosen


def test_no_service_is_said_and_nothing_hangs(tab, make_workbook):
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 1)], 95, 3)
    server = tab.serve(path.parent)
    server.stop()
    for button in ("XlpRecalculate", "XlpSubmit"):
        tab.open(model_of(path))
        state = tab.press(button)
        assert "连接不到“模范机关考评”本机服务" in state["log"]["alerts"][-1] and state["log"]["panes"] == []


def test_the_service_refuses_calls_without_the_links_token(tab, make_workbook):
    import json
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 1)], 95, 3)
    server = tab.serve(path.parent)
    body = json.dumps({"path": str(path)}).encode()
    for token in ("", "guessed", server.token):  # the page's token is not the link's
        status, _, headers = server.request("POST", "/api/wps/score", body, {"X-Xlpipeline-Token": token,
                                                                              "Content-Type": "application/json"},
                                            token=False)
        assert status == 403 and headers["access-control-allow-origin"] == "*"
    status, _, _ = server.request("GET", f"/wps/open?to=generate&token=guessed&path={quote(str(path))}", token=False)
    assert status == 403
