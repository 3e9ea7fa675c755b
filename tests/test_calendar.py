"""工作日历 (issue 24): the duties of 应完成的工作 as dated occurrences, the sheet `init` writes, the
提示 `score` gives, `calendar` with its .ics export, and `remind` through a real SMTP server."""
from __future__ import annotations

import email
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import zipfile
from datetime import date, timedelta
from email import policy
from importlib import resources

import icalendar
import vobject
from openpyxl import load_workbook

from xlpipeline.pipeline import score_workbook
from xlpipeline.resources import DEMO_WORKBOOK
from xlpipeline.rules import load_rules, parse_rules
from xlpipeline.scoring.calendar import occurrences
from xlpipeline.workbook.book import FileBook
from xlpipeline.workbook.layout import CALENDAR, DEPARTMENTS, PROGRESS, ProgressLayout

RULES_TEXT = (resources.files("xlpipeline.rules") / "2026.toml").read_text(encoding="utf-8")
RULES_2026 = load_rules(2026)
PER_YEAR = {"每月": 12, "每季度": 4, "每半年": 2, "每年": 1, "年底前": 1, "一次": 1, "未规定": 0}


def expected(year: int, text: str = RULES_TEXT) -> list[tuple[int, str, date]]:
    """Derived from the rules file without the program: each duty falls due at the end of each of its
    periods — the day before the next period begins."""
    found = []
    for item in tomllib.loads(text)["items"]:
        for duty in item.get("duties", []):
            n = PER_YEAR[duty["every"]]
            for k in range(1, n + 1):
                month = 12 * k // n  # the period's last month
                next_start = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
                due = next_start - timedelta(days=1)
                if "due_day" in duty:
                    due = min(due, date(year, month, duty["due_day"]) if duty["due_day"] <= due.day else due)
                found.append((item["no"], duty["name"], due))
    return sorted(found, key=lambda f: (f[2], f[0]))


def test_the_occurrences_follow_the_frequencies(rules):
    duties = [d for i in rules.items for d in i.duties]
    assert {d.every for d in duties} >= {"每月", "每季度", "每半年", "每年", "年底前", "一次", "未规定"}
    got = [(o.item, o.duty, o.due) for o in occurrences(rules)]
    assert sorted(got, key=lambda f: (f[2], f[0])) == expected(2026)
    monthly = [o for o in occurrences(rules) if o.duty == "支委会"]
    assert [o.due.month for o in monthly] == list(range(1, 13)) and monthly[1].due == date(2026, 2, 28)
    assert [o.period for o in occurrences(rules) if o.duty == "分析研判"] == ["2026年上半年", "2026年下半年"]


def test_a_leap_year_and_a_due_day():
    text = RULES_TEXT.replace("year = 2026", "year = 2028").replace(
        '{ name = "支委会", every = "每月", code = "3.A"', '{ name = "支委会", every = "每月", due_day = 30, code = "3.A"')
    rules = parse_rules(text, "2028.toml")
    got = [(o.item, o.duty, o.due) for o in occurrences(rules)]
    assert sorted(got, key=lambda f: (f[2], f[0])) == expected(2028, text)
    meetings = [o.due for o in occurrences(rules) if o.duty == "支委会"]
    assert meetings[1] == date(2028, 2, 29) and meetings[2] == date(2028, 3, 30)  # capped to February's end
    assert [o.due for o in occurrences(rules) if o.duty == "理论学习中心组学习"][1] == date(2028, 2, 29)


def test_the_sheet_and_calendar_json_list_every_occurrence(blank_workbook, cli, rules):
    ws = load_workbook(blank_workbook)[CALENDAR]
    sheet = [(r[0], r[1], r[4].date()) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]
    assert sorted(sheet, key=lambda f: (f[2], f[0])) == expected(2026)
    assert [r[4] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]] == sorted(
        r[4] for r in ws.iter_rows(min_row=2, values_only=True) if r[0])  # by date
    assert ws.auto_filter.ref and ws.print_title_rows == "$1:$1"
    status, out, err = cli("calendar", blank_workbook, "--from", "2026-01-01", "--to", "2026-12-31", "--json")
    assert status == 0, err
    listed = [(e["item"], e["duty"], date.fromisoformat(e["due"])) for e in json.loads(out)]
    assert sorted(listed, key=lambda f: (f[2], f[0])) == expected(2026)


def test_the_rules_sheet_shows_the_readings_of_the_duties(blank_workbook, rules):
    shown = "\n".join(str(v) for row in load_workbook(blank_workbook)["规则"].iter_rows(values_only=True)
                      for v in row if v)
    for duty in (d for i in rules.items for d in i.duties if d.choice):
        assert f"第{duty.item}项 {duty.name}" in shown and duty.choice in shown


def fill(path, done: dict[tuple[int, str, str], date], department: dict[int, str] | None = None) -> None:
    """Type 完成日期 (and another 责任科室) into 工作日历 as staff would (openpyxl: a test file of ours)."""
    wb = load_workbook(path)
    ws = wb[CALENDAR]
    for row in ws.iter_rows(min_row=2):
        key = (row[0].value, row[1].value, row[3].value)
        if key in done:
            row[6].value = done[key]
        if department and row[0].value in department:
            row[5].value = department[row[0].value]
    wb.save(path)


def test_overdue_duties_become_hints_and_never_change_a_score(make_workbook, tmp_path):
    path = make_workbook([(date(2026, 3, 1), None, "9.D", 3), (date(2026, 5, 2), None, "3.A", 1)], 90, 8)
    plain = score_workbook(path, dry_run=True, today=date(2026, 7, 15)).results
    assert any("尚未登记任何完成日期" in w for w in plain.warnings)  # one line for a calendar nobody filled in
    before_done = {(o.item, o.duty, o.period): o.due for o in occurrences(plain_rules(path))
                   if o.due < date(2026, 7, 15)}
    done = dict(before_done)
    for missed in [(4, "分析研判", "2026年上半年"), (3, "支委会", "2026年5月"), (21, "先进科室评选", "2026年6月")]:
        del done[missed]
    fill(path, done)
    hinted = score_workbook(path, dry_run=True, today=date(2026, 7, 15)).results
    calendar = [w for w in hinted.warnings if w not in plain.warnings]
    assert calendar == ["第3项 5月支委会（应于 2026-05-31 前）未登记完成：如属实应记 3.A",
                        "第4项 上半年分析研判（应于 2026-06-30 前）未登记完成：如属实应记 4.A",
                        "第21项 6月先进科室评选（应于 2026-06-30 前）未登记完成（原文未规定对应的扣分情形）"]
    assert hinted.to_json() | {"warnings": []} == plain.to_json() | {"warnings": []}
    without = tmp_path / "无日历.xlsx"
    wb = load_workbook(path)
    del wb[CALENDAR]
    wb.save(without)
    bare = score_workbook(without, dry_run=True, today=date(2026, 7, 15)).results
    assert bare.to_json() | {"warnings": []} == hinted.to_json() | {"warnings": []}
    assert not [w for w in bare.warnings if "完成" in w]  # a workbook made before 工作日历: no hints


def plain_rules(path):
    from xlpipeline.scoring.ledger import rules_of
    return rules_of(FileBook(path))


def test_the_demo_gives_exactly_the_hints_of_its_missed_duties():
    results = score_workbook(DEMO_WORKBOOK, dry_run=True, today=date(2026, 12, 2)).results
    assert list(results.warnings) == ["第4项 上半年分析研判（应于 2026-06-30 前）未登记完成：如属实应记 4.A",
                                      "第5项 7月理论学习中心组学习（应于 2026-07-31 前）未登记完成：如属实应记 5.A"]


def test_a_bad_date_in_the_calendar_is_named_by_its_cell(make_workbook, cli):
    path = make_workbook()
    wb = load_workbook(path)
    wb[CALENDAR]["G3"] = "上周"
    wb.save(path)
    status, _, err = cli("calendar", path)
    assert status == 1 and f"{CALENDAR}!G3: 完成日期“上周”无法识别" in err
    hints = score_workbook(path, dry_run=True).results.warnings  # scoring goes on: the calendar scores nothing
    assert any(w.startswith(f"{CALENDAR}!G3: ") and "工作日历不影响得分" in w for w in hints)


def test_a_workbook_without_the_calendar_is_told_how_to_add_it(make_workbook, cli):
    path = make_workbook()
    wb = load_workbook(path)
    del wb[CALENDAR]
    wb.save(path)
    status, _, err = cli("calendar", path)
    assert status == 2 and "没有“工作日历”表" in err and "--add" in err


# --- iCalendar --------------------------------------------------------------------------------------

def test_the_ics_file_parses_back_and_keeps_its_uids(blank_workbook, cli, tmp_path):
    first, second = tmp_path / "一.ics", tmp_path / "二.ics"
    for out in (first, second):
        status, _, err = cli("calendar", blank_workbook, "--ics", out)
        assert status == 0, err
    events = icalendar.Calendar.from_ical(first.read_bytes()).walk("VEVENT")
    assert sorted((int(e["summary"].split("项")[0].removeprefix("第")), e["dtstart"].dt) for e in events) == sorted(
        (item, due) for item, _, due in expected(2026))
    event = next(e for e in events if "分析研判（2026年上半年）" in str(e["summary"]))
    assert event["dtstart"].dt == date(2026, 6, 30) and "4.A" in str(event["description"])
    (alarm,) = event.walk("VALARM")
    assert alarm["trigger"].dt == timedelta(days=-3)
    other = vobject.readOne(second.read_text(encoding="utf-8"))  # a second, independent parser
    uids = [e.uid.value for e in other.vevent_list]
    assert len(uids) == len(set(uids)) == len(events)
    assert uids == [str(e["uid"]) for e in events]  # a re-export: the same events, the same UIDs
    assert [e.dtstart.value for e in other.vevent_list] == [e["dtstart"].dt for e in events]


# --- init --add --------------------------------------------------------------------------------------

def test_init_add_keeps_every_typed_cell_of_the_calendar(make_workbook, cli):
    path = make_workbook()
    fill(path, {(3, "支委会", "2026年1月"): date(2026, 1, 20), (4, "分析研判", "2026年上半年"): date(2026, 6, 12)},
         {9: "督查科"})
    wb = load_workbook(path)
    wb[CALENDAR]["H2"] = "组织部〔2026〕1号"
    del wb[DEPARTMENTS]  # a workbook from before 科室通讯录
    wb.save(path)
    before = [list(r) for r in load_workbook(path)[CALENDAR].iter_rows(values_only=True)]
    status, out, err = cli("init", path, "--add")
    assert status == 0 and f"添加工作表 {DEPARTMENTS}" in out, err
    wb = load_workbook(path)
    assert [list(r) for r in wb[CALENDAR].iter_rows(values_only=True)] == before
    assert wb.sheetnames[-1] == DEPARTMENTS
    again = path.read_bytes()
    status, out, _ = cli("init", path, "--add")
    assert status == 0 and "已有全部工作表，未作改动" in out and path.read_bytes() == again


# --- remind --------------------------------------------------------------------------------------------

def departments_filled(path, rows) -> None:
    wb = load_workbook(path)
    ws = wb[DEPARTMENTS]
    for r, values in enumerate(rows, start=2):
        for c, value in enumerate(values, start=1):
            ws.cell(r, c).value = value
    wb.save(path)


def received(server) -> dict[str, list]:
    found: dict[str, list] = {}
    for envelope in server.received:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        found.setdefault(message["subject"].split("：")[1].split()[0], []).append((envelope, message))
    return found


def test_remind_sends_each_department_one_message_a_day(server, make_workbook, cli):
    path = make_workbook()
    departments_filled(path, [("综合科", "陈科长", "zhk@example.com"), ("督查科", "刘科长", "dck@example.com"),
                              ("办公室", "郑主任", "bgs@example.com", "", "是"), ("执法科", "吴科长", "zfk@example.com")])
    done = {(o.item, o.duty, o.period): o.due for o in occurrences(plain_rules(path))
            if o.item not in (9, 18)}
    fill(path, done, {9: "督查科", 18: "督查科"})
    status, out, err = cli("remind", path, "--days", "400")
    assert status == 0, err
    got = received(server)
    assert sorted(got) == ["督查科"]  # 综合科 has everything done, 办公室 is 不发送, 执法科 has no duty
    (envelope, message), = got["督查科"]
    assert envelope.rcpt_tos == ["dck@example.com"]
    body = message.get_body(("plain",)).get_content()
    assert "第9项 全体党员参加志愿服务活动（2026年）" in body and "第18项 开放强市产业立市年度任务（2026年底前）" in body
    # the same day: 综合科's duties open again, 督查科's list shrinks by one
    fill(path, {**{key: None for key in done}, (9, "全体党员参加志愿服务活动", "2026年"): date(2026, 11, 1)})
    status, out, err = cli("remind", path, "--days", "400")
    assert status == 0, err
    got = received(server)
    assert len(got["督查科"]) == 1 and len(got["综合科"]) == 1  # 督查科 not twice; 综合科 now has some
    status, out, _ = cli("remind", path, "--days", "400")
    assert status == 0 and sum(len(v) for v in received(server).values()) == 2 and "已发送" in out


def test_remind_killed_while_the_server_holds_its_message(server, make_workbook):
    """As `send`: killed after the server stored the reminder and before it replied, the reminder is
    of unknown fate — a rerun that day does not send it again and exits 3."""
    path = make_workbook()
    departments_filled(path, [("综合科", "陈科长", "zhk@example.com")])
    server.hold_at = 1
    process = subprocess.Popen([sys.executable, "-m", "xlpipeline", "remind", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    assert server.arrived.wait(60), process.communicate()
    process.send_signal(signal.SIGKILL)
    process.wait()
    server.release.set()
    again = subprocess.run([sys.executable, "-m", "xlpipeline", "remind", str(path)], capture_output=True,
                           text=True, timeout=120, env=os.environ.copy())
    assert again.returncode == 3 and "结果未知" in again.stdout and "Traceback" not in again.stderr, again.stderr
    assert len(server.received) == 1


def test_remind_dry_run_writes_nothing(make_workbook, cli, tmp_path):
    path = make_workbook()
    departments_filled(path, [("综合科", "陈科长", "zhk@example.com")])
    before = sorted(p.name for p in tmp_path.iterdir())
    status, out, err = cli("remind", path, "--dry-run")
    assert status == 0 and "综合科 | zhk@example.com" in out and "将发送" in out, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_demo_reminds_its_department(tmp_path, server, cli):
    path = tmp_path / "演示.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, path)
    status, out, err = cli("remind", path)
    assert status == 0, err
    assert sorted(received(server)) == ["综合科"]


# --- 工作进度 --------------------------------------------------------------------------------------

def test_score_fills_the_progress_sheet_from_the_calendar(tmp_path):
    path = tmp_path / "演示.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, path)
    today = date(2026, 10, 15)
    score_workbook(path, today=today)
    wb = load_workbook(path)
    by_department, by_item = {}, {}
    for row in wb[CALENDAR].iter_rows(min_row=2, values_only=True):
        if not row[0]:
            continue
        kind = 0 if row[6] else (2 if row[4].date() < today else 1)  # 已完成, 未到期, 逾期未完成
        for table, key in ((by_department, row[5]), (by_item, row[0])):
            table.setdefault(key, [0, 0, 0])[kind] += 1
    sheet = wb[PROGRESS]
    at = ProgressLayout(RULES_2026)
    assert sheet[at.date_cell].value.date() == today
    shown = {sheet.cell(at.department_row(i), 1).value: [sheet.cell(at.department_row(i), c).value for c in (2, 3, 4)]
             for i in range(at.departments) if sheet.cell(at.department_row(i), 1).value}
    assert shown == by_department and shown["办公室"] == [12, 0, 0]  # the demo's year is all done but two
    for no in range(1, len(RULES_2026.items) + 1):
        counts = [sheet.cell(at.item_row(no), c).value for c in (2, 3, 4)]
        assert counts == by_item.get(no, [None, None, None]), no
    assert by_item[4] == [7, 0, 1]  # 分析研判 of the first half missed
    with zipfile.ZipFile(path) as z:
        (chart,) = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert re.search(rb'<(c:)?min val="0(\.0)?"\s*/>', z.read(chart))  # the value axis starts at zero


def test_the_progress_sheet_has_no_counts_without_a_calendar(make_workbook):
    path = make_workbook()
    wb = load_workbook(path)
    del wb[CALENDAR]
    wb.save(path)
    score_workbook(path)
    sheet = load_workbook(path)[PROGRESS]
    assert sheet["B2"].value is None and sheet.cell(ProgressLayout(RULES_2026).department_row(0), 2).value is None


def test_a_new_workbooks_chart_and_drawing_are_valid(blank_workbook):
    from conftest import SCHEMAS
    from lxml import etree
    from test_schema import as_read
    schemas = {prefix: etree.XMLSchema(etree.parse(str(SCHEMAS / name))) for prefix, name in
               (("xl/charts/chart", "dml-chart.xsd"), ("xl/drawings/drawing", "dml-spreadsheetDrawing.xsd"))}
    checked = 0
    with zipfile.ZipFile(blank_workbook) as z:
        for name in z.namelist():
            schema = next((s for prefix, s in schemas.items() if name.startswith(prefix)), None)
            if schema is not None:
                assert schema.validate(as_read(z.read(name))), f"{name}: {schema.error_log.last_error}"
                checked += 1
    assert checked == 2  # 工作进度's chart and its drawing


def test_a_progress_sheet_of_the_users_own_is_left_alone(make_workbook):
    """A sheet they named 工作进度 before ours existed: init --add keeps it, score never writes it."""
    path = make_workbook()
    wb = load_workbook(path)
    del wb[PROGRESS]
    mine = wb.create_sheet(PROGRESS)
    mine["A1"], mine["B5"], mine["C20"] = "我们自己的进度表", "=1+1", 7
    wb.save(path)
    score_workbook(path)
    sheet = load_workbook(path)[PROGRESS]
    assert (sheet["A1"].value, sheet["B5"].value, sheet["C20"].value, sheet["B2"].value) == (
        "我们自己的进度表", "=1+1", 7, None)


def test_more_departments_than_rows_share_the_last_row(make_workbook):
    path = make_workbook()
    wb = load_workbook(path)
    rows = [r for r in wb[CALENDAR].iter_rows(min_row=2) if r[0].value]
    for n, row in enumerate(rows[:14]):
        row[5].value = f"第{n + 1}科"
    wb.save(path)
    score_workbook(path, today=date(2026, 12, 2))
    sheet = load_workbook(path)[PROGRESS]
    at = ProgressLayout(RULES_2026)
    names = [sheet.cell(at.department_row(i), 1).value for i in range(at.departments)]
    assert names[:11] == [f"第{n}科" for n in range(1, 12)] and names[11] == "其他 4 个科室"
    last = [sheet.cell(at.department_row(11), c).value for c in range(2, 6)]
    assert last[3] == len(rows) - 11 and sum(last[:3]) == last[3]  # 第12–14科 and the rest of the rows


def test_the_calendar_table_lines_up_in_a_terminal(cli):
    """Statuses of two and three Chinese characters: the dates start in the same terminal column."""
    from xlpipeline.workbook.textfit import display_units
    status, out, err = cli("calendar", DEMO_WORKBOOK, "--all", "--from", "2026-06-29", "--to", "2026-07-31")
    assert status == 0, err
    rows = [line for line in out.splitlines()[1:] if "2026-" in line]
    assert {line.split()[0] for line in rows} == {"已完成", "逾期"}
    assert len({display_units(line[:line.index("2026-")]) for line in rows}) == 1
