"""工作日历 as an iCalendar file that Outlook, WPS, Thunderbird and phone calendars import: one
all-day event per occurrence on its 应完成日期, with a reminder some days before. Every event
keeps its UID from export to export, so importing again updates instead of duplicating."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from icalendar import Alarm, Calendar, Event

from xlpipeline.ooxml.safesave import replace_file
from xlpipeline.scoring.calendar import Occurrence

REMIND_DAYS = 3


def calendar_file(entries: list[Occurrence], title: str, remind_days: int = REMIND_DAYS) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//xlpipeline//工作日历//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title)
    stamp = datetime.now(timezone.utc).replace(microsecond=0)
    for e in entries:
        event = Event()
        event.add("uid", e.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", e.due)
        event.add("dtend", e.due + timedelta(days=1))
        event.add("summary", f"第{e.item}项 {e.duty}（{e.period}）" + ("（已完成）" if e.done else ""))
        event.add("description", _description(e))
        event.add("categories", [e.department or "未指定科室"])
        event.add("transp", "TRANSPARENT")  # a deadline, not a busy appointment
        if e.done is None:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"第{e.item}项 {e.duty} 应于 {e.due:%Y-%m-%d} 前完成")
            alarm.add("trigger", timedelta(days=-remind_days))
            event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()


def _description(e: Occurrence) -> str:
    lines = [f"指标序号：第{e.item}项", f"工作：{e.duty}（{e.every}，{e.period}）", f"应完成日期：{e.due:%Y-%m-%d}",
             f"责任科室：{e.department or '未指定'}"]
    if e.code:
        lines.append(f"逾期未完成：如属实应在扣分台账记 {e.code}")
    if e.done:
        lines.append(f"完成日期：{e.done:%Y-%m-%d}" + (f"（{e.evidence}）" if e.evidence else ""))
    return "\n".join(lines)


def write_calendar_file(entries: list[Occurrence], path: Path, title: str, remind_days: int = REMIND_DAYS) -> None:
    data = calendar_file(entries, title, remind_days)
    replace_file(path, lambda out: out.write(data), backup=False)
