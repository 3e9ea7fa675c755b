"""工作日历: what is overdue and due soon in the chosen workbook's 工作日历, by 科室, and its .ics."""
from __future__ import annotations

from datetime import date, timedelta

from starlette.requests import Request
from starlette.routing import Route

from xlpipeline.errors import InputErrors, UserError
from xlpipeline.outputs.ics import write_calendar_file
from xlpipeline.outputs.render import safe_name
from xlpipeline.pipeline import work_calendar
from xlpipeline.scoring.calendar import SOON_DAYS, in_range, outstanding
from xlpipeline.workbook.book import FileBook
from xlpipeline.web.app import need_workbook, page, st

SHOWN = {"open": "逾期和 14 天内到期", "all": "全年全部"}


async def calendar_page(request: Request):
    path = need_workbook(request)
    department = request.query_params.get("dept", "").strip()[:40]
    shown = request.query_params.get("show") if request.query_params.get("show") in SHOWN else "open"
    try:
        rules, entries = work_calendar(FileBook(path))
    except InputErrors as exc:
        return page(request, "calendar.html.j2", errors=exc.located(), entries=None)
    except UserError as exc:
        return page(request, "calendar.html.j2", problem=str(exc), errors=(), entries=None)
    today = date.today()
    mine = in_range(entries, None, None, department or None)
    chosen = mine if shown == "all" else outstanding(mine, today + timedelta(days=SOON_DAYS))
    counts = {status: sum(e.status(today) == status for e in mine) for status in ("逾期", "即将到期", "未到期", "已完成")}
    departments = sorted({e.department for e in entries if e.department})
    ics = st(request).work_folder("ics") / "工作日历.ics"  # the 科室 typed in the address only names the download
    write_calendar_file(mine, ics, f"{rules.year}年 工作日历" + (f"（{department}）" if department else ""))
    name = safe_name(f"工作日历_{rules.year}" + (f"_{department}" if department else "")) + ".ics"
    return page(request, "calendar.html.j2", errors=(), entries=[(e, e.status(today)) for e in chosen],
                counts=counts, departments=departments, department=department, shown=shown, choices=SHOWN,
                ics_key=st(request).publish(ics, name), today=today)


routes = [Route("/calendar", calendar_page)]
