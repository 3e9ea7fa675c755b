"""`xlpipeline remind`: each 科室 of 科室通讯录 gets one message a day listing its duties of 工作日历
that are overdue or due within some days — through the mail settings and the outbox of `send`, so
a rerun on the same day sends nothing twice and a message of unknown fate is not sent again blindly."""
from __future__ import annotations

import hashlib
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from xlpipeline.mail import Planned, SendOptions, deliver, open_outbox
from xlpipeline.mail.addressbook import read_departments
from xlpipeline.mail.message import Envelope, message_id
from xlpipeline.mail.transport import load_settings
from xlpipeline.pipeline import work_calendar
from xlpipeline.progress import Progress
from xlpipeline.scoring.calendar import Occurrence, outstanding
from xlpipeline.workbook.book import Book

DAYS = 7


@dataclass(frozen=True)
class RemindOptions:
    days: int = DAYS
    dry_run: bool = False
    config: Path | None = None
    backend: str = "smtp"


def reminder_text(department: str, duties: list[Occurrence], today: date, days: int) -> tuple[str, str]:
    """The subject and body of one 科室's reminder."""
    late = [e for e in duties if e.due < today]
    soon = [e for e in duties if e.due >= today]
    subject = f"工作提醒：{department} {len(late)} 项逾期、{len(soon)} 项 {days} 天内到期（{today:%Y-%m-%d}）"
    lines = [f"{department}：", "", f"按工作日历，截至 {today:%Y-%m-%d}："]
    for title, group in (("逾期未登记完成", late), (f"{days} 天内到期", soon)):
        if group:
            lines += ["", f"{title}（{len(group)} 项）："]
            lines += [f"- {e.due:%Y-%m-%d} 第{e.item}项 {e.duty}（{e.period}）"
                      + (f"；逾期未完成如属实应记 {e.code}" if e.code and e.due < today else "") for e in group]
    lines += ["", "完成后请在工作簿“工作日历”表填写完成日期和佐证/文号。逾期工作只作提示，扣分以扣分台账为准。"]
    return subject, "\n".join(lines) + "\n"


def remind_book(book: Book, options: RemindOptions = RemindOptions(), today: date | None = None,
                progress: Progress = False) -> list[Planned]:
    """Plan (and unless a dry run, send) today's reminders, one per 科室 that has something due."""
    _, entries = work_calendar(book)
    recipients = read_departments(book)
    settings = load_settings(options.config, book.path, need_server=not options.dry_run,
                             need_sender=not options.dry_run)
    today = today or date.today()
    round_name = f"工作提醒 {today:%Y-%m-%d}"
    with ExitStack() as stack:
        _, outbox = open_outbox(book.path, options.dry_run, stack)
        plan = []
        for r in recipients:
            duties = outstanding(entries, today + timedelta(days=options.days), r.unit)
            if not duties:
                continue
            subject, body = reminder_text(r.unit, duties, today, options.days)
            # one reminder per 科室 and day, whatever changed since the first: the key has no content digest
            key = "|".join(["提醒", today.isoformat(), r.unit, ",".join(sorted(m.address for m in r.to + r.cc))])
            envelope = Envelope(settings.sender, r.to, r.cc, subject, body, (), message_id(key, settings.sender.address))
            state, detail = ("skip", "") if r.skip else outbox.state(key) or ("", "")
            plan.append(Planned(r, envelope, key, hashlib.sha256(body.encode("utf-8")).hexdigest(), state,
                                detail=detail))
        if options.dry_run:
            return plan
        return deliver(plan, settings, SendOptions(backend=options.backend), outbox, round_name, progress)
