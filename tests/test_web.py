"""The local page, clicked through in a real browser as office staff would (issue 22): open the
demo, see a mistake with its cell, 重新计算 and read the file back, generate and download, send to
a real SMTP server after confirming, collect the attachments; every page photographed at 1366×768
and checked for overflow and Chinese text; texts from a workbook shown as text, never run."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from mailserver import PASSWORD, USER, self_signed, start
from web_support import CJK, Server, browser, clean, downloaded, wait_for
from xlpipeline.resources import DEMO_WORKBOOK
from xlpipeline.workbook.layout import LEDGER, PARAM_UNIT, PARAMS, SUMMARY, SummaryLayout, param_cell

SCREENS = Path(os.environ.get("XLP_SCREENSHOTS", "")) if os.environ.get("XLP_SCREENSHOTS") else None


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chromium")
    driver = browser(folder / "profile", folder / "downloads")
    driver.downloads = folder / "downloads"
    yield driver
    driver.quit()


@pytest.fixture
def serve(tmp_path):
    """Start `xlpipeline web TARGET` (stopped after the test)."""
    started = []

    def run(target: Path) -> Server:
        server = Server(target, tmp_path / "home")
        started.append(server)
        return server
    yield run
    for server in started:
        assert server.stop() == 0  # Ctrl+C stops it cleanly


@pytest.fixture
def demo(tmp_path) -> Path:
    folder = tmp_path / "工作"
    folder.mkdir()
    path = folder / "考评演示.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, path)
    return path


def look(driver, name: str, tmp_path: Path) -> None:
    """Photograph the page at 1366×768; it must not overflow sideways and must show Chinese text."""
    assert driver.get_window_size()["width"] == 1366
    width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: 页面横向溢出 {width}"
    assert CJK.search(driver.find_element(By.TAG_NAME, "body").text), f"{name}: 页面没有中文"
    shot = tmp_path / f"{name}.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 5000
    if SCREENS:
        SCREENS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENS / shot.name)


def text_of(driver, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text


def click(driver, css: str) -> None:
    driver.find_element(By.CSS_SELECTOR, css).click()


def submit(driver, element) -> None:
    """Click something that loads a page, and wait until the new page is there."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 60).until(staleness_of(old))


def go(driver, css: str) -> None:
    submit(driver, driver.find_element(By.CSS_SELECTOR, css))


def finished(driver, timeout: float = 240) -> None:
    """Wait until the job page shows its result (or its error, which fails the test)."""
    def done():
        if driver.find_elements(By.ID, "job-error"):
            raise AssertionError(text_of(driver, "#job-error"))
        return driver.find_elements(By.ID, "result")
    wait_for(done, timeout, "后台操作完成")


def test_demo_scores_and_explanations(driver, serve, demo, tmp_path):
    server = serve(demo)
    driver.get(server.url)  # the printed address, as the browser opens it
    assert "token" not in driver.current_url and driver.current_url.endswith("/score")
    assert text_of(driver, "#total") == "79.19"
    assert text_of(driver, "#bonus") == "1.50"
    item21 = text_of(driver, "#item-21 .explain")
    assert "第 7 名" in item21 and "扣 1.50 分" in item21
    assert text_of(driver, "#item-21 .amount") == "1.50"
    driver.find_element(By.CSS_SELECTOR, "#item-12 summary").click()  # the cases behind item 12
    cases = text_of(driver, "#item-12 table.cases")
    assert "12.G" in cases and "2026-10-09" in cases
    look(driver, "得分", tmp_path)


def test_the_calendar_page(driver, serve, demo, tmp_path):
    """工作日历: the demo's two missed duties in red, a 科室 with nothing open, the whole year, the .ics."""
    import icalendar
    server = serve(demo)
    driver.get(server.url)
    go(driver, "nav a[href='/calendar']")
    late = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#calendar tr.late")]
    assert len(late) == 2 and "分析研判" in late[0] and "4.A" in late[0] and "理论学习中心组学习" in late[1]
    red = driver.find_element(By.CSS_SELECTOR, "#calendar tr.late td").value_of_css_property("background-color")
    assert red in ("rgba(255, 199, 206, 1)", "rgb(255, 199, 206)")
    assert text_of(driver, "#count-1") == "2"  # 逾期
    look(driver, "工作日历", tmp_path)
    Select(driver.find_element(By.ID, "dept")).select_by_visible_text("办公室")
    Select(driver.find_element(By.ID, "show")).select_by_value("all")
    go(driver, "form.filters button")
    rows = driver.find_elements(By.CSS_SELECTOR, "#calendar tbody tr")
    assert len(rows) == 12 and all("先进科室评选" in r.text and "已完成" in r.text for r in rows)
    clean(driver.downloads)
    click(driver, "#ics-download")
    ics = downloaded(driver.downloads, ".ics")
    events = icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert len(events) == 12 and all("先进科室评选" in str(e["summary"]) for e in events)


def test_a_mistake_is_shown_with_its_cell(driver, serve, demo, tmp_path):
    wb = load_workbook(demo)
    wb[LEDGER].append([date(2025, 12, 30), None, "9.D", 1, None, "补录", "", "综合科"])
    row = wb[LEDGER].max_row
    wb.save(demo)
    server = serve(demo.parent)  # a folder: the page opens at the folder view
    driver.get(server.url)
    assert driver.current_url.endswith("/workbook")
    assert text_of(driver, "#folder") == str(demo.parent)
    look(driver, "工作簿", tmp_path)
    submit(driver, driver.find_element(By.XPATH, f"//button[contains(., '{demo.name}')]"))
    errors = text_of(driver, "#errors")
    assert f"扣分台账!A{row}" in errors and "不在考评年度 2026" in errors
    assert not driver.find_elements(By.ID, "total")
    look(driver, "得分_有错误", tmp_path)
    go(driver, "#recalculate")  # refused: nothing written
    assert "没有写入" in text_of(driver, ".flash.error")
    assert load_workbook(demo)[LEDGER].max_row == row and not (demo.parent / ".xlpipeline-backup").exists()


def test_recalculate_writes_into_the_workbook(driver, serve, make_workbook, rules):
    path = make_workbook([(date(2026, 3, 2), None, "9.D", 2, None, "未参加志愿服务", "", "综合科")],
                         satisfaction=90, rank=7)
    summary = SummaryLayout(rules)
    assert load_workbook(path, data_only=True)[SUMMARY][f"D{summary.total_row}"].value is None
    server = serve(path)
    driver.get(server.url)
    total = text_of(driver, "#total")
    go(driver, "#recalculate")
    assert f"总分 {total}" in text_of(driver, ".flash.ok")
    written = load_workbook(path, data_only=True)
    assert Decimal(str(written[SUMMARY][f"D{summary.total_row}"].value)).quantize(Decimal("0.01")) == Decimal(total)
    assert list((path.parent / ".xlpipeline-backup").iterdir())


def test_generate_and_download(driver, serve, demo, tmp_path):
    server = serve(demo)
    clean(driver.downloads)
    driver.get(server.url)
    driver.get(server.base + "/generate")
    look(driver, "生成", tmp_path)
    click(driver, "#submit-pdf")
    go(driver, "#make-submit")
    finished(driver)
    assert "79.19" in text_of(driver, "#result")
    assert driver.execute_script("return document.getElementById('preview').naturalWidth") > 100
    look(driver, "生成_附件1", tmp_path)
    driver.find_element(By.XPATH, "//a[contains(@class,'download') and contains(., '.xlsx')]").click()
    xlsx = downloaded(driver.downloads, ".xlsx")
    values = [c for row in load_workbook(xlsx, data_only=True)["附件1"].values for c in row]
    assert 79.19 in values or "79.19" in values
    driver.find_element(By.XPATH, "//a[contains(@class,'download') and contains(., '.pdf')]").click()
    pdf = downloaded(driver.downloads, ".pdf")
    assert "79.19" in subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert (demo.parent / xlsx.name).exists()  # written beside the workbook, as the command line does

    driver.get(server.base + "/generate")
    Select(driver.find_element(By.ID, "batch-by")).select_by_visible_text("考评单位")
    go(driver, "#make-batch")
    finished(driver)
    look(driver, "生成_分组", tmp_path)
    click(driver, "#zip-download")
    bundle = downloaded(driver.downloads, ".zip")
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        assert "索引.csv" in names and len([n for n in names if n.endswith(".xlsx")]) == 7
        z.extractall(tmp_path / "unzipped")
    for name in names:
        if name.endswith(".xlsx"):
            assert "附件1" in load_workbook(tmp_path / "unzipped" / name).sheetnames


def test_send_after_confirming(driver, serve, demo, tmp_path):
    controller, recorder = start("none", *self_signed(tmp_path))
    try:
        server = serve(demo)
        driver.get(server.url)
        driver.get(server.base + "/send")
        assert text_of(driver, "#plan").count("将发送") == 7  # the preview needs no settings, sending does:
        assert "未设置发件人" in text_of(driver, "#missing") and not driver.find_element(By.ID, "send").is_enabled()
        driver.get(server.base + "/settings/mail")
        for name, value in {"host": "127.0.0.1", "port": str(controller.port), "from": "zhb@example.gov.cn",
                            "from_name": "市散墙办综合科", "user": USER, "password": PASSWORD}.items():
            field = driver.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        Select(driver.find_element(By.NAME, "security")).select_by_value("none")
        look(driver, "邮件设置", tmp_path)
        go(driver, "#save-settings")
        assert "已保存" in text_of(driver, ".flash.ok")
        settings = (server.home / ".config" / "xlpipeline" / "mail.toml").read_text(encoding="utf-8")
        assert "127.0.0.1" in settings and PASSWORD not in settings  # the password went to the keyring
        plan = text_of(driver, "#plan")
        assert plan.count("将发送") == 7 and recorder.received == []
        look(driver, "发送", tmp_path)
        click(driver, "#send")
        alert = driver.switch_to.alert  # the confirmation: nothing is sent before it
        assert "7 个考评单位" in alert.text
        alert.accept()
        finished(driver)
        outcome = text_of(driver, "#outcome")
        assert outcome.count("已发送") == 7 and "全部完成" in text_of(driver, "#result")
        look(driver, "发送_结果", tmp_path)
        got = sorted(tuple(sorted(e.rcpt_tos)) for e in recorder.received)
        assert got == sorted([("archive@example.com", "swb@example.com"), ("szfb@example.com",), ("zzb@example.com",),
                              ("xcb@example.com",), ("jggw@example.com",), ("jw@example.com",),
                              ("zfw2@example.com", "zfw@example.com")])
        assert all(logged_in for _, _, logged_in in recorder.sessions)
        driver.get(server.base + "/send")  # a second look: every message is known as sent
        assert text_of(driver, "#plan").count("已发送，将跳过") == 7
        assert not driver.find_element(By.ID, "send").is_enabled()
        assert len(recorder.received) == 7
    finally:
        controller.stop()


def fill_settings(driver, server, port: int) -> None:
    driver.get(server.base + "/settings/mail")
    for name, value in {"host": "127.0.0.1", "port": str(port), "from": "zhb@example.gov.cn"}.items():
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    Select(driver.find_element(By.NAME, "security")).select_by_value("none")
    go(driver, "#save-settings")


def test_unknown_fate_is_resent_only_when_confirmed(driver, serve, demo, tmp_path):
    controller, recorder = start("none", *self_signed(tmp_path))
    recorder.drop_after_storing = {"zzb@example.com"}  # stored, but the client never hears back
    try:
        server = serve(demo)
        driver.get(server.url)
        fill_settings(driver, server, controller.port)
        click(driver, "#send")
        driver.switch_to.alert.accept()
        finished(driver)
        assert "有 1 封邮件未确认送达" in text_of(driver, "#result")
        assert "我已核实" in text_of(driver, "#result .flash.error")  # what to do, in the page's words
        driver.get(server.base + "/send")
        assert not driver.find_element(By.ID, "send").is_enabled()  # a plain run would resend nothing
        click(driver, "#resend")  # the box 我已核实 is not ticked: the browser keeps the form
        assert driver.current_url.endswith("/send") and len(recorder.received) == 7
        driver.find_element(By.NAME, "checked").click()
        click(driver, "#resend")
        driver.switch_to.alert.dismiss()  # 取消: nothing is sent
        assert len(recorder.received) == 7
        driver.get(server.base + "/send")
        driver.find_element(By.NAME, "checked").click()
        click(driver, "#resend")
        driver.switch_to.alert.accept()
        finished(driver)
        assert "全部完成" in text_of(driver, "#result")
        assert [e.rcpt_tos for e in recorder.received[7:]] == [["zzb@example.com"]]
    finally:
        controller.stop()


def test_collect_attachments(driver, serve, make_workbook, cli, tmp_path):
    def unit(name):
        return lambda wb: wb[PARAMS].__setitem__(param_cell(PARAM_UNIT), name)
    for name, count in (("甲局", 1), ("乙局", 4), ("丙局", 1)):
        path = make_workbook([(date(2026, 5, 1), None, "9.D", count, None, "", "", "")], satisfaction=95, rank=3,
                             name=f"{name}.xlsx", edit=unit(name))
        code, out, err = cli("submit", path, "--out", tmp_path / "收件箱" / f"附件1_{name}.xlsx")
        assert code == 0, err
    attachments = sorted((tmp_path / "收件箱").iterdir())
    server = serve(tmp_path / "收件箱")
    clean(driver.downloads)
    driver.get(server.url)
    driver.get(server.base + "/collect")
    look(driver, "汇总", tmp_path)
    driver.find_element(By.ID, "collect-files").send_keys("\n".join(map(str, attachments)))
    go(driver, "#collect")
    finished(driver)
    look(driver, "汇总_结果", tmp_path)
    ranking = [row.text.split() for row in driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")]
    assert [r[:2] for r in ranking] == [["1", "甲局"], ["1", "丙局"], ["3", "乙局"]] or \
        [r[:2] for r in ranking] == [["1", "丙局"], ["1", "甲局"], ["3", "乙局"]]
    bars = driver.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert len(bars) == 3
    totals = [Decimal(r[2]) for r in ranking]
    widths = [float(b.get_attribute("width")) for b in bars]
    assert widths[0] / float(totals[0]) == pytest.approx(widths[2] / float(totals[2]))  # zero-based: length ∝ score
    assert text_of(driver, "#problems") == "无"
    driver.find_element(By.XPATH, "//a[contains(@class,'download') and contains(., '.json')]").click()
    data = json.loads(downloaded(driver.downloads, ".json").read_text(encoding="utf-8"))
    assert sorted(u["unit"] for u in data["units"]) == ["丙局", "乙局", "甲局"]
    assert [Decimal(u["total"]) for u in data["units"]] == totals


def test_a_new_workbook_and_an_uploaded_copy(driver, serve, make_workbook, rules, tmp_path):
    folder = tmp_path / "空文件夹"
    folder.mkdir()
    server = serve(folder)
    clean(driver.downloads)
    driver.get(server.url)
    field = driver.find_element(By.NAME, "name")
    field.clear()
    field.send_keys("新台账")
    submit(driver, driver.find_element(By.XPATH, "//button[contains(., '在此文件夹新建')]"))
    assert text_of(driver, "#total") == "100.00" and (folder / "新台账.xlsx").exists()
    made = (folder / "新台账.xlsx").read_bytes()
    driver.get(server.base + "/workbook")
    field = driver.find_element(By.NAME, "name")
    field.clear()
    field.send_keys("新台账")
    submit(driver, driver.find_element(By.XPATH, "//button[contains(., '在此文件夹新建')]"))
    assert "已有“新台账.xlsx”" in text_of(driver, ".flash.error") and "--force" not in text_of(driver, "main")
    assert (folder / "新台账.xlsx").read_bytes() == made

    typed = make_workbook([(date(2026, 3, 2), None, "9.D", 3, None, "", "", ""),
                           ("2026-03-05", None, "９．Ｄ", 1, None, "", "", "")], satisfaction=100, rank=1,
                          name="同事发来的.xlsx")
    before = typed.read_bytes()
    driver.get(server.base + "/workbook")
    driver.find_element(By.ID, "upload-file").send_keys(str(typed))
    submit(driver, driver.find_element(By.XPATH, "//button[.='上传']"))
    assert "副本" in text_of(driver, ".flash.info") and text_of(driver, "#workbook-name") == "同事发来的.xlsx"
    total = text_of(driver, "#total")
    assert "扣分台账第 3 行" in text_of(driver, ".warnings") and "待核对" in text_of(driver, ".warnings")
    go(driver, "#recalculate")
    assert f"总分 {total}" in text_of(driver, ".flash.ok")
    click(driver, "#copy-download")
    copy = downloaded(driver.downloads, ".xlsx")
    written = load_workbook(copy, data_only=True)[SUMMARY][f"D{SummaryLayout(rules).total_row}"].value
    assert Decimal(str(written)).quantize(Decimal("0.01")) == Decimal(total)
    assert typed.read_bytes() == before  # the user's own file is untouched: the copy got the results


XSS = ("<script>window.__xss = 1</script>", '"><img src=x onerror="window.__xss = 2">')


def test_texts_from_a_workbook_are_shown_not_run(driver, serve, make_workbook):
    path = make_workbook([(date(2026, 4, 1), None, "9.D", 1, None, XSS[0], "", XSS[1])], satisfaction=90, rank=3)
    server = serve(path)
    driver.get(server.url)
    driver.find_element(By.CSS_SELECTOR, "#item-9 summary").click()
    cases = text_of(driver, "#item-9 table.cases")
    assert XSS[0] in cases and XSS[1] in cases
    assert driver.execute_script("return window.__xss") is None
    assert not driver.find_elements(By.CSS_SELECTOR, "main img, main script")
