"""发送: who gets what (the preview), a confirmation, progress per message, the final states and
what to do about each; 邮件设置 edited on a page, the password kept in the system keyring."""
from __future__ import annotations

import os

from starlette.requests import Request
from starlette.routing import Route

from xlpipeline.errors import UserError
from xlpipeline.mail import SendOptions, advice, send_book, status_text, undelivered
from xlpipeline.mail.transport import ENV, SECURITY, load_settings, read_settings_file, save_settings, settings_file
from xlpipeline.workbook.book import FileBook
from xlpipeline.web.app import back, need_workbook, page, posted, st, start_job

PAGE_HINTS = {"resend": "在“发送”页勾选“我已核实”并点“重发结果未知的邮件”",
              "again": "在“发送”页再点一次“确认发送”即可重发"}
FIELDS = ("host", "port", "security", "user", "from", "from_name", "timeout")


def rows(plan, dry_run: bool) -> list[dict]:
    return [{"unit": p.recipient.unit, "to": "、".join(m.address for m in p.envelope.to) or "—",
             "cc": "、".join(m.address for m in p.envelope.cc) or "—",
             "files": [a.path.name for a in p.envelope.attachments], "state": p.outcome or p.state or "new",
             "status": status_text(p, dry_run)} for p in plan]


def options(source) -> dict:
    return {"whole": source.get("whole") == "1", "pdf": source.get("pdf") == "1"}


async def send_page(request: Request):
    path = need_workbook(request)
    chosen = options(request.query_params)
    try:
        plan = send_book(FileBook(path), SendOptions(dry_run=True, **chosen))
    except UserError as exc:
        return page(request, "send.html.j2", problem=str(exc), plan=None, options=chosen)
    try:
        load_settings(None, path, need_server=True)
        missing = ""
    except UserError as exc:  # the preview needs no settings; sending does
        missing = str(exc)
    return page(request, "send.html.j2", plan=rows(plan, dry_run=True), options=chosen, missing=missing,
                unknown=[p.recipient.unit for p in plan if p.state == "unknown"],
                to_send=sum(p.state not in ("skip", "sent", "unknown") for p in plan))


async def send_now(request: Request):
    form = await posted(request)
    path = need_workbook(request)
    chosen = options(form)
    resend = form.get("resend_unknown") == "1"
    if resend and form.get("checked") != "1":
        return back(request, "/send", "error", "重发结果未知的邮件前，请先向对方核实未收到，并勾选“我已核实”。")

    def work(job):
        done = send_book(FileBook(path), SendOptions(resend_unknown=resend, **chosen), progress=job.report)
        return {"rows": rows(done, dry_run=False), "advice": advice(done, PAGE_HINTS).splitlines(),
                "left": len(undelivered(done))}
    return start_job(request, "send", str(path), "发送给考评单位", work)


async def settings_page(request: Request):
    file = settings_file(st(request).workbook)
    try:
        current = read_settings_file(file).get("smtp", {}) if file.exists() else {}
    except UserError as exc:
        current = {}
        st(request).flash("error", str(exc))
    return page(request, "settings.html.j2", file=str(file), values={k: str(current.get(k, "")) for k in FIELDS},
                securities=SECURITY, overridden=[v for k, v in ENV.items() if k in FIELDS and os.environ.get(v)])


async def save_settings_form(request: Request):
    form = await posted(request)
    file = settings_file(st(request).workbook)
    values = {k: str(form.get(k, "")).strip() for k in FIELDS}
    try:
        save_settings(file, values, str(form.get("password", "")) or None)
    except UserError as exc:
        return back(request, "/settings/mail", "error", str(exc))
    return back(request, "/send" if st(request).workbook else "/settings/mail", "ok", f"邮件设置已保存到 {file}")


routes = [Route("/send", send_page), Route("/send", send_now, methods=["POST"]),
          Route("/settings/mail", settings_page), Route("/settings/mail", save_settings_form, methods=["POST"])]
