"""`xlpipeline send`: each 考评单位 gets its filled attachment by email, exactly once.

Subject and body are jinja2 templates (beside the rules data, or [mail] subject/body in the mail
settings file) with these names: unit, year, round, assessor, recipient_name, items (item
numbers), deduction, score, attachments (file names), sender_name, today.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path


from xlpipeline.workbook.book import Book
from xlpipeline.names import BACKEND_NAMES
from xlpipeline.scoring.engine import money
from xlpipeline.errors import FileProblem, UserError
from xlpipeline.scoring.explain import explanations
from xlpipeline.mail.addressbook import Recipient, read_address_book
from xlpipeline.mail.message import Attachment, Envelope, check_header_text, message_id, render
from xlpipeline.mail.outbox import OUTBOX_NAME, Outbox
from xlpipeline.mail.transport import (MailSettings, OutlookTransport, SendFailed, SendUnknown, SmtpTransport,
                                       load_settings)
from xlpipeline.outputs.embed import record
from xlpipeline.outputs.render import inside, safe_name, write_output
from xlpipeline.pipeline import read_and_score
from xlpipeline.progress import Progress, steps
from xlpipeline.outputs.pdf import to_pdf
from xlpipeline.outputs.report import context, groups
from xlpipeline.resources import TEMPLATE
from xlpipeline.rules import mail_template_text
from xlpipeline.sandbox import FAILURES, BoundedSandbox
from xlpipeline.outputs.xltemplate import XlsxTemplate

BACKENDS = dict(zip(BACKEND_NAMES, (OutlookTransport, SmtpTransport)))
STATES = {"sent": "已发送", "failed": "发送失败", "unknown": "结果未知", "pending": "待发送", "skip": "不发送"}


@dataclass(frozen=True)
class Planned:
    recipient: Recipient
    envelope: Envelope
    key: str
    digest: str
    state: str        # what the outbox says now ("" for never tried, "skip" for 不发送)
    outcome: str = ""  # what this run did
    detail: str = ""   # why: this run's, else what the outbox recorded


@dataclass(frozen=True)
class SendOptions:
    round: str | None = None
    dry_run: bool = False
    eml_dir: Path | None = None
    resend_unknown: bool = False
    whole: bool = False
    pdf: bool = False
    config: Path | None = None
    backend: str = "smtp"
    template: Path = TEMPLATE


def send_book(book: Book, options: SendOptions = SendOptions(), progress: Progress = False) -> list[Planned]:
    workbook = book.path
    rules, results = read_and_score(book)
    recipients = read_address_book(book, rules)
    settings = load_settings(options.config, workbook, need_server=not (options.dry_run or options.eml_dir),
                             need_sender=not options.dry_run)  # a preview needs no sender
    round_name = check_header_text(options.round or f"{results.year}年度自评", "轮次")
    with ExitStack() as stack:
        base, outbox = open_outbox(workbook, options.dry_run, stack)
        today = outbox.report_date(round_name, date.today())
        folder = base / safe_name(f"{workbook.stem}_发送") / safe_name(round_name)
        plan = _plan(rules, results, recipients, settings, round_name, today, folder, options, outbox)
        if options.dry_run:
            return plan
        if options.eml_dir is not None:
            return _write_eml(plan, options.eml_dir)
        return deliver(plan, settings, options, outbox, round_name, progress)


def open_outbox(workbook: Path, dry_run: bool, stack: ExitStack) -> tuple[Path, Outbox]:
    """The folder to write a round's files in and the outbox beside the workbook, closed with `stack`.
    A dry run plans from a copy of the outbox in a scratch folder: nothing is written."""
    base, path = workbook.parent, workbook.parent / OUTBOX_NAME
    if dry_run:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xlpipeline-")))
        path = _copy_outbox(path, base)
    outbox = Outbox(path)
    stack.callback(outbox.close)
    return base, outbox


def _copy_outbox(path: Path, folder: Path) -> Path:
    """The outbox (with its write-ahead log, where a run left one) copied into `folder`."""
    copy = folder / path.name
    for suffix in ("", "-wal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            shutil.copyfile(source, copy.with_name(copy.name + suffix))
    return copy


def _plan(rules, results, recipients, settings: MailSettings, round_name: str, today: date, folder: Path,
          options: SendOptions, outbox: Outbox) -> list[Planned]:
    by_unit = groups(rules, "考评单位")
    form = XlsxTemplate(options.template)
    folder.mkdir(parents=True, exist_ok=True)
    env = BoundedSandbox()
    try:
        subject = env.from_string(settings.subject or mail_template_text("mail_subject"))
        body = env.from_string(settings.body or mail_template_text("mail_body"))
    except FAILURES as exc:
        raise UserError(f"邮件模板错误：{exc}") from None
    texts = explanations(rules, results)
    written: dict[str, tuple[Path, dict]] = {}  # one file per distinct attachment (--whole: one for all)
    files = []
    for r in recipients:
        name = safe_name(f"{rules.attachment}_{results.unit}_{results.year}年"
                         + ("自评" if options.whole else f"_{r.unit}"))
        if name not in written:
            path = inside(folder, f"{name}.xlsx", set())
            values = context(rules, results, None if options.whole else by_unit[r.unit],
                             group=None if options.whole else r.unit,
                             group_label=None if options.whole else "考评单位", today=today, texts=texts)
            write_output(form, values, path, record(rules, results, values, round_name))
            written[name] = (path, values)
        files.append((r, *written[name]))
    pdf_of = {}
    if options.pdf:
        paths = [path for path, _ in written.values()]
        pdf_of = dict(zip(paths, to_pdf(paths, folder)))
    plan = []
    for r, path, values in files:
        attachments = tuple(Attachment(p) for p in (path, pdf_of.get(path)) if p is not None)
        digest = hashlib.sha256(b"".join(a.data for a in attachments)).hexdigest()
        key = "|".join([round_name, r.unit, ",".join(sorted(m.address for m in r.to + r.cc)), digest])
        names = {"unit": results.unit, "year": results.year, "round": round_name, "assessor": r.unit,
                 "recipient_name": r.to[0].name if r.to else "", "items": by_unit[r.unit],
                 "deduction": money(results.deduction_of(by_unit[r.unit])),
                 "score": money(values["score_total"]), "attachments": [a.path.name for a in attachments],
                 "sender_name": settings.sender.name, "today": values["today"]}
        try:
            envelope = Envelope(settings.sender, r.to, r.cc, subject.render(names).strip(), body.render(names),
                                attachments, message_id(key, settings.sender.address))
        except FAILURES as exc:
            raise UserError(f"邮件模板错误：{exc}") from None
        state, detail = ("skip", "") if r.skip else outbox.state(key) or ("", "")
        plan.append(Planned(r, envelope, key, digest, state, detail=detail))
    return plan


def _write_eml(plan: list[Planned], folder: Path) -> list[Planned]:
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    done = []
    for p in plan:
        if p.state == "skip":
            done.append(replace(p, outcome="skipped"))
            continue
        path = inside(folder, f"{safe_name(p.recipient.unit)}.eml", taken)
        try:
            path.write_bytes(render(p.envelope))
        except OSError as exc:
            raise FileProblem(f"{path}: 无法写入：{exc.strerror}") from None
        done.append(replace(p, outcome="eml", detail=path.name))
    return done


def deliver(plan: list[Planned], settings: MailSettings, options: SendOptions, outbox: Outbox,
          round_name: str, progress: Progress) -> list[Planned]:
    done: list[Planned] = []
    lost = ""  # why the server can no longer be reached, once it could be
    with BACKENDS[options.backend](settings) as transport:
        for p in steps(plan, "发送", progress):
            if p.state in ("skip", "sent") or (p.state == "unknown" and not options.resend_unknown):
                done.append(replace(p, outcome="skipped"))
                continue
            record = lambda state, detail="": outbox.record(  # noqa: E731
                p.key, round_name, p.recipient.unit, p.envelope.recipients, p.digest, p.envelope.message_id,
                state, detail)
            if not lost:
                try:
                    transport.ready()
                except UserError as exc:
                    if not any(d.outcome != "skipped" for d in done):
                        raise  # nothing tried yet: a settings problem, told as such
                    lost = f"未发送：{exc}"
            if lost:  # the rest are recorded as not sent, so that the next run sends them
                outcome, detail = "failed", lost
            else:
                record("sending")
                try:
                    transport.send(p.envelope, render(p.envelope))
                    outcome, detail = "sent", ""
                except SendFailed as exc:
                    outcome, detail = "failed", str(exc)
                except SendUnknown as exc:
                    outcome, detail = "unknown", str(exc)
            record(outcome, detail)
            done.append(replace(p, outcome=outcome, detail=detail))
    return done


def undelivered(plan: list[Planned]) -> list[Planned]:
    """The round's messages that are not known to be delivered after a run (sent, failed or skipped)."""
    return [p for p in plan if p.state != "skip" and (p.outcome if p.outcome != "skipped" else p.state) != "sent"]


CLI_HINTS = {"resend": "运行 xlpipeline send --resend-unknown 重发", "again": "再次运行 xlpipeline send 即可重发"}


def advice(plan: list[Planned], hints: dict[str, str] = CLI_HINTS) -> str:
    """What the user must do about the messages a run leaves undelivered, one line each kind; `hints`
    say how to resend in the words of the front-end (a command, a button)."""
    left = undelivered(plan)
    unknown = [p.recipient.unit for p in left if "unknown" in (p.outcome, p.state)]
    failed = [p.recipient.unit for p in left if p.recipient.unit not in unknown]
    lines = []
    if unknown:
        lines.append(f"{len(unknown)} 封邮件结果未知（{'、'.join(unknown)}），可能已送达：请先向对方核实，"
                     f"确认未收到后{hints['resend']}")
    if failed:
        lines.append(f"{len(failed)} 封邮件未发出（{'、'.join(failed)}）：排除上表中的原因后{hints['again']}")
    return "\n".join(lines)


def status_text(p: Planned, dry_run: bool) -> str:
    """One message's state in words: what a preview will do with it, or what a run did."""
    if dry_run:
        return {"skip": "不发送", "sent": "已发送，将跳过", "unknown": "结果未知，将跳过（可加 --resend-unknown）",
                "failed": "上次失败，将重发"}.get(p.state, "将发送")
    return {"sent": "已发送", "failed": f"失败：{p.detail}", "unknown": f"结果未知：{p.detail}",
            "eml": f"已写入 {p.detail}",
            "skipped": f"跳过（{STATES.get(p.state, p.state)}" + (f"：{p.detail}" if p.state == "unknown" else "") + "）"
            }[p.outcome]


def summary_table(plan: list[Planned], dry_run: bool, who: str = "考评单位") -> str:
    lines = [f"{who} | 收件人 | 抄送 | 附件 | " + ("当前状态" if dry_run else "结果")]
    for p in plan:
        to = "、".join(m.address for m in p.envelope.to) or "—"
        cc = "、".join(m.address for m in p.envelope.cc) or "—"
        files = "、".join(a.path.name for a in p.envelope.attachments) or "—"
        lines.append(f"{p.recipient.unit} | {to} | {cc} | {files} | {status_text(p, dry_run)}")
    return "\n".join(lines)
