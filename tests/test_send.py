"""`xlpipeline send` against a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, exactly once."""
from __future__ import annotations

import email
import os
import re
import shutil
import socket
import threading
from datetime import date
from email import policy
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import pdf_pages
from mailserver import free_port, start
from xlpipeline.workbook.layout import ADDRESS_BOOK
from xlpipeline.resources import DEMO_WORKBOOK

ASSESSORS = ["市委办", "市政府办", "市委组织部", "市委宣传部", "市直机关工委", "市纪委市监委", "市委政法委"]


@pytest.fixture
def demo(tmp_path):
    path = tmp_path / "考评.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, path)
    return path


def parsed(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=policy.default)


def by_unit(recorder) -> dict[str, list]:
    found: dict[str, list] = {}
    for envelope in recorder.received:
        message = parsed(envelope)
        unit = message["subject"].split("（报")[1].rstrip("）")
        found.setdefault(unit, []).append((envelope, message))
    return found


@pytest.mark.parametrize("server", ["none", "starttls", "ssl"], indirect=True)
def test_each_assessor_gets_its_attachment(cli, server, demo):
    status, out, err = cli("send", demo)
    assert status == 0, err
    received = by_unit(server)
    assert sorted(received) == sorted(ASSESSORS) and all(len(v) == 1 for v in received.values())
    envelope, message = received["市委办"][0]
    assert envelope.mail_from == "zhb@example.com"
    assert sorted(envelope.rcpt_tos) == ["archive@example.com", "swb@example.com"]
    assert message["subject"] == "市散墙办2026年度创建模范机关自评材料（报市委办）"
    assert message["from"].addresses[0].display_name == "市散墙办综合科"
    assert message["to"].addresses[0].display_name == "张主任"
    assert message["cc"].addresses[0].addr_spec == "archive@example.com"
    assert message["message-id"].endswith("@example.com>")
    body = message.get_body(("plain",)).get_content()
    assert body.startswith("张主任：") and "第1、2、10、18、19、20、21、22项" in body and "扣分合计 9.00 分" in body
    (attachment,) = list(message.iter_attachments())
    name = "附件1_市散墙办_2026年_市委办.xlsx"
    assert attachment.get_filename() == name
    assert attachment.get_param("name") == name  # the RFC 2047 name= that older clients read
    assert attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sent_file = demo.parent / "考评_发送" / "2026年度自评" / name
    assert attachment.get_content() == sent_file.read_bytes()
    rows = [r for r in load_workbook(sent_file)["附件1"].iter_rows(values_only=True) if isinstance(r[0], int)]
    assert [r[0] for r in rows] == [1, 2, 10, 18, 19, 20, 21, 22]  # only this assessor's items
    raw = envelope.original_content.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert not any(line[:1] in (" ", "\t") for line in raw.split("\r\n")), "a folded header line"
    assert "市委政法委" in received and sorted(received["市委政法委"][0][0].rcpt_tos) == [
        "zfw2@example.com", "zfw@example.com"]
    assert "已发送" in out

    status, out, _ = cli("send", demo)  # again: nothing goes out twice
    assert status == 0 and len(server.received) == len(ASSESSORS)
    assert out.count("跳过（已发送）") == len(ASSESSORS)


def test_dropped_after_data_is_unknown_and_not_resent(cli, server, demo):
    server.drop_after_storing = {"jw@example.com"}  # 市纪委市监委
    status, out, _ = cli("send", demo)
    assert status == 3
    assert "市纪委市监委 | jw@example.com | — | 附件1_市散墙办_2026年_市纪委市监委.xlsx | 结果未知" in out
    assert len(server.received) == len(ASSESSORS)  # the server did store it

    status, out, _ = cli("send", demo)
    assert status == 3 and len(server.received) == len(ASSESSORS)  # not sent twice, and not called done
    assert "跳过（结果未知：邮件已发出但未收到服务器确认" in out
    assert "1 封邮件结果未知（市纪委市监委），可能已送达" in out and "--resend-unknown" in out

    status, out, _ = cli("send", demo, "--dry-run")
    assert "结果未知，将跳过（可加 --resend-unknown）" in out

    status, out, _ = cli("send", demo, "--resend-unknown")
    assert status == 0 and len(by_unit(server)["市纪委市监委"]) == 2
    first, second = by_unit(server)["市纪委市监委"]
    assert first[1]["message-id"] == second[1]["message-id"]  # the same message, recognisably


def test_refused_login(cli, server, demo, monkeypatch):
    monkeypatch.setenv("XLP_SMTP_PASSWORD", "wrong-password")
    status, out, err = cli("send", demo)
    assert status == 2 and "邮件服务器拒绝登录（用户 zhb）" in err
    assert "wrong-password" not in err + out and not server.received
    status, out, _ = cli("send", demo, "--dry-run")
    assert out.count("将发送") == len(ASSESSORS)  # nothing was marked sent


def test_certificate_not_trusted(cli, server, demo, monkeypatch):
    monkeypatch.delenv("XLP_SMTP_CAFILE")
    status, _, err = cli("send", demo)
    assert status == 2 and "证书验证失败" in err and "cafile" in err


def test_unknown_host(cli, server, demo, monkeypatch):
    monkeypatch.setenv("XLP_SMTP_HOST", "nosuchhost.invalid")
    status, _, err = cli("send", demo)
    assert status == 2 and "无法解析邮件服务器地址“nosuchhost.invalid”" in err


def test_server_that_never_answers(cli, server, demo, monkeypatch):
    silent = socket.socket()
    silent.bind(("127.0.0.1", free_port()))
    silent.listen()
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True)
    thread.start()
    monkeypatch.setenv("XLP_SMTP_PORT", str(silent.getsockname()[1]))
    monkeypatch.setenv("XLP_SMTP_TIMEOUT", "1")
    try:
        status, _, err = cli("send", demo)
    finally:
        silent.close()
    assert status == 2 and "超时（1 秒）" in err


@pytest.mark.parametrize("column, value, message", [
    ("A", "市委办\r\nBcc: spy@example.com", "含有换行或控制字符"),
    ("B", "张三\r\nBcc: spy@example.com", "含有换行或控制字符"),
    ("C", "swb@example.com\nBcc: spy@example.com", "含有换行或控制字符"),
    ("C", "swb@example.com\r\nx@example.com", "含有换行或控制字符"),
    ("C", "swb@example.com, x@example.com", "多个邮箱请用分号“;”分隔"),
    ("D", "archive@example.com\nBcc: spy@example.com", "含有换行或控制字符"),
    ("C", "不是邮箱", "不是有效的邮箱地址"),
])
def test_header_injection_and_bad_addresses_are_refused(cli, server, demo, column, value, message):
    wb = load_workbook(demo)
    wb[ADDRESS_BOOK][f"{column}2"] = value
    wb.save(demo)
    status, _, err = cli("send", demo)
    assert status == 1 and not server.received
    first, *others = err.strip().splitlines()
    assert first.startswith(f"{ADDRESS_BOOK}!{column}2: ") and message in first
    # only a unit made unreadable is also missing; a bad name or address is not a missing unit
    assert others == (["通讯录!A:A: 缺少考评单位“市委办”（不发给该单位请在“不发送”列填“是”）"] if column == "A" else [])


def test_addresses_separated_by_semicolons(cli, server, demo):
    wb = load_workbook(demo)
    wb[ADDRESS_BOOK]["C2"] = " swb@example.com；swb2@example.com ; "
    wb.save(demo)
    status, _, err = cli("send", demo)
    assert status == 0, err
    (envelope, _), = by_unit(server)["市委办"]
    assert sorted(envelope.rcpt_tos) == ["archive@example.com", "swb2@example.com", "swb@example.com"]


def test_a_name_that_looks_encoded_shows_literally(cli, server, demo):
    """Readers decode `=?…?=` even inside quotes; we encode every display name ourselves."""
    wb = load_workbook(demo)
    wb[ADDRESS_BOOK]["B2"] = "=?utf-8?q?=E5=81=87?="
    wb[ADDRESS_BOOK]["B2"].data_type = "s"  # text, not the formula openpyxl would make of it
    wb[ADDRESS_BOOK]["B3"] = 'Li "Ke" Zhang'
    wb.save(demo)
    status, _, err = cli("send", demo)
    assert status == 0, err
    found = by_unit(server)
    assert found["市委办"][0][1]["to"].addresses[0].display_name == "=?utf-8?q?=E5=81=87?="
    assert found["市政府办"][0][1]["to"].addresses[0].display_name == 'Li "Ke" Zhang'


@pytest.mark.parametrize("server", ["none+nologin", "starttls+nologin", "ssl+nologin", "none+nologin+helo",
                                    "starttls"], indirect=True)
def test_greets_a_relay_that_wants_ehlo_first(cli, server, demo):
    """aiosmtpd, like many office relays, answers MAIL before EHLO/HELO with 503 (and forgets the
    greeting after STARTTLS); a relay without login must still take every message."""
    status, _, err = cli("send", demo)
    assert status == 0, err
    assert sorted(by_unit(server)) == sorted(ASSESSORS) and len(server.received) == len(ASSESSORS)
    helo_only = server.controller.__class__.__name__ == "HeloOnlyController"
    logged_in = "XLP_SMTP_USER" in os.environ
    assert {s[1:] for s in server.sessions} == {(not helo_only, logged_in)}


def test_a_refused_recipient_fails_alone_and_is_sent_next_time(cli, server, demo):
    server.refuse = {"xcb@example.com"}  # 市委宣传部
    status, out, _ = cli("send", demo)
    assert status == 3
    assert "市委宣传部 | xcb@example.com | — | 附件1_市散墙办_2026年_市委宣传部.xlsx | 失败：收件人 xcb@example.com 被拒绝：550" \
        in out
    assert "1 封邮件未发出（市委宣传部）" in out
    assert sorted(by_unit(server)) == sorted(set(ASSESSORS) - {"市委宣传部"})
    status, out, _ = cli("send", demo, "--dry-run")
    assert status == 0 and "市委宣传部 | xcb@example.com | — | 附件1_市散墙办_2026年_市委宣传部.xlsx | 上次失败，将重发" in out
    server.refuse = set()
    status, out, _ = cli("send", demo)
    assert status == 0 and out.count("跳过（已发送）") == len(ASSESSORS) - 1
    assert all(len(v) == 1 for v in by_unit(server).values()) and len(by_unit(server)) == len(ASSESSORS)


def test_a_421_closes_the_link_and_the_next_message_reconnects(cli, server, demo):
    server.closing = {"szfb@example.com"}  # 市政府办, the second message
    status, out, _ = cli("send", demo)
    assert status == 3 and "市政府办 | szfb@example.com | — | 附件1_市散墙办_2026年_市政府办.xlsx | 失败：服务器拒收：421" in out
    assert sorted(by_unit(server)) == sorted(set(ASSESSORS) - {"市政府办"})  # the ones after it went out
    status, _, _ = cli("send", demo)
    assert status == 0 and all(len(v) == 1 for v in by_unit(server).values()) and len(by_unit(server)) == 7


def test_a_link_lost_then_refused_records_every_message(cli, server, demo, certificate, monkeypatch):
    server.stop_listening_after = {"szfb@example.com"}  # after 市政府办: link closed, new ones refused
    status, out, err = cli("send", demo)
    assert status == 3, err
    lines = out.splitlines()
    assert len([line for line in lines if " | " in line]) == 1 + len(ASSESSORS)  # the whole table
    assert "市委办 | swb@example.com | archive@example.com | 附件1_市散墙办_2026年_市委办.xlsx | 已发送" in out
    assert "市委组织部 | zzb@example.com | — | 附件1_市散墙办_2026年_市委组织部.xlsx | 失败：发送前连接中断" in out
    for unit in ASSESSORS[3:]:
        assert any(line.startswith(f"{unit} |") and "失败：未发送：" in line and "拒绝连接" in line for line in lines)
    assert "5 封邮件未发出（市委组织部、市委宣传部、市直机关工委、市纪委市监委、市委政法委）" in out
    first = by_unit(server)
    controller, recorder = start("starttls", *certificate)  # the server is back, at a new address
    try:
        monkeypatch.setenv("XLP_SMTP_PORT", str(controller.port))
        status, _, err = cli("send", demo)
        assert status == 0, err
    finally:
        controller.stop()
    assert sorted(first) == ["市委办", "市政府办"] and sorted(by_unit(recorder)) == sorted(ASSESSORS[2:])


def test_round_name_with_a_line_break(cli, server, demo):
    status, _, err = cli("send", demo, "--round", "2026\r\nBcc: spy@example.com")
    assert status == 2 and "含有换行" in err and not server.received


def test_address_book_must_cover_every_assessor(cli, server, demo):
    wb = load_workbook(demo)
    book = wb[ADDRESS_BOOK]
    book.delete_rows(3)            # 市政府办 gone
    book["E2"] = "是"             # 市委办 skipped explicitly
    wb.save(demo)
    status, _, err = cli("send", demo)
    assert status == 1 and "缺少考评单位“市政府办”" in err
    wb = load_workbook(demo)
    wb[ADDRESS_BOOK].append(["市政府办", "", "", "", "是"])
    wb.save(demo)
    status, out, err = cli("send", demo)
    assert status == 0, err
    assert sorted(by_unit(server)) == sorted(set(ASSESSORS) - {"市委办", "市政府办"})
    assert "市委办 | swb@example.com | archive@example.com | 附件1_市散墙办_2026年_市委办.xlsx | 跳过（不发送）" in out


def test_eml_files_instead_of_sending(cli, server, demo, tmp_path):
    status, out, err = cli("send", demo, "--eml-dir", tmp_path / "eml", "--whole")
    assert status == 0, err
    files = sorted((tmp_path / "eml").glob("*.eml"))
    assert len(files) == len(ASSESSORS) and not server.received
    for eml in files:
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == "附件1_市散墙办_2026年自评.xlsx"  # the whole form, for everyone
    status, out, _ = cli("send", demo, "--dry-run")
    assert out.count("将发送") == len(ASSESSORS)


def test_eml_files_skip_a_unit_marked_not_to_send(cli, server, demo, tmp_path):
    """不发送=是 in 通讯录: no .eml for that unit, a line in the table, no crash (issue 12, item 1)."""
    wb = load_workbook(demo)
    wb[ADDRESS_BOOK]["E2"] = "是"  # 市委办
    wb.save(demo)
    status, out, err = cli("send", demo, "--eml-dir", tmp_path / "eml")
    assert status == 0, err
    assert sorted(p.stem for p in (tmp_path / "eml").glob("*.eml")) == sorted(set(ASSESSORS) - {"市委办"})
    assert not server.received
    assert "市委办 | swb@example.com | archive@example.com | 附件1_市散墙办_2026年_市委办.xlsx | 跳过（不发送）" in out


def test_password_is_never_taken_from_a_file(cli, demo, tmp_path):
    config = tmp_path / "mail.toml"
    config.write_text('[smtp]\nhost = "127.0.0.1"\nfrom = "zhb@example.com"\npassword = "x"\n', encoding="utf-8")
    status, _, err = cli("send", demo, "--config", config)
    assert status == 2 and "密码请放在环境变量" in err


def test_settings_from_a_file(cli, server, demo, monkeypatch):
    """xlpipeline-mail.toml beside the workbook; only the password stays in the environment."""
    smtp = {key: os.environ[f"XLP_SMTP_{key.upper()}"] for key in ("host", "port", "cafile", "user")}
    for variable in ("XLP_SMTP_HOST", "XLP_SMTP_PORT", "XLP_SMTP_SECURITY", "XLP_SMTP_CAFILE", "XLP_SMTP_USER",
                     "XLP_MAIL_FROM", "XLP_MAIL_FROM_NAME"):
        monkeypatch.delenv(variable)
    (demo.parent / "xlpipeline-mail.toml").write_text(
        "[smtp]\n"
        f'host = "{smtp["host"]}"\nport = {smtp["port"]}\nsecurity = "starttls"\n'
        f'cafile = "{Path(smtp["cafile"]).as_posix()}"\nuser = "{smtp["user"]}"\n'
        'from = "office@example.com"\nfrom_name = "办公室"\n'
        "[mail]\n"
        'subject = "请审阅：{{ assessor }}"\n', encoding="utf-8")
    status, _, err = cli("send", demo)
    assert status == 0, err
    subjects = sorted(parsed(e)["subject"] for e in server.received)
    assert subjects == sorted(f"请审阅：{u}" for u in ASSESSORS)
    assert all(e.mail_from == "office@example.com" for e in server.received)


def test_pdf_goes_along(cli, server, demo, to_pdf):
    status, _, err = cli("send", demo, "--pdf")
    assert status == 0, err
    _, message = by_unit(server)["市委宣传部"][0]
    names = [a.get_filename() for a in message.iter_attachments()]
    assert names == ["附件1_市散墙办_2026年_市委宣传部.xlsx", "附件1_市散墙办_2026年_市委宣传部.pdf"]
    pdf = list(message.iter_attachments())[1]
    assert pdf.get_content_type() == "application/pdf"
    received = demo.parent / "收到的附件.pdf"
    received.write_bytes(pdf.get_content())
    pages = pdf_pages(received)  # the PDF as the assessor prints it: its own unit's items and scores
    assert "考评单位：市委宣传部" in pages[0] and "第 1 页，共 2 页" in pages[0]
    closing = [line.split() for line in pages[0].splitlines() if "小计" in line]
    assert closing and closing[0][-4:-1] == ["3.50", "11.50", "所涉分块得分合计"]
    assert [line.split()[0] for line in pages[1].splitlines() if re.match(r"\s*\d+\s+2026-", line)] == \
        ["4", "4", "5", "5", "5", "5"]  # 扣分明细: the six cases of items 4 and 5, nothing else


def test_a_preview_needs_no_settings_at_all(cli, demo, monkeypatch):
    for variable in ("XLP_MAIL_FROM", "XLP_SMTP_HOST", "XLP_SMTP_USER"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(demo.parent))
    monkeypatch.delenv("APPDATA", raising=False)
    status, out, err = cli("send", demo, "--dry-run")
    assert status == 0 and out.count("将发送") == len(ASSESSORS), err
    status, _, err = cli("send", demo)
    assert status == 2 and "未设置发件人邮箱" in err


def test_missing_settings_are_named(cli, demo, monkeypatch):
    for variable in ("XLP_SMTP_HOST", "XLP_MAIL_FROM"):
        monkeypatch.delenv(variable, raising=False)
    status, _, err = cli("send", demo)
    assert status == 2 and "未设置发件人邮箱" in err
    monkeypatch.setenv("XLP_MAIL_FROM", "zhb@example.com")
    status, _, err = cli("send", demo)
    assert status == 2 and "未设置邮件服务器" in err
    status, out, _ = cli("send", demo, "--dry-run")  # a preview needs no server
    assert status == 0 and out.count("将发送") == len(ASSESSORS)


@pytest.mark.parametrize("text, message", [("smtp = 1\n", "[smtp] 和 [mail] 应为表"),
                                           ("[smtp\n", "邮件设置格式错误"),
                                           ("[smtp]\ncolour = 1\n", "不认识的设置 colour")])
def test_bad_settings_files(cli, demo, tmp_path, text, message):
    config = tmp_path / "坏设置.toml"
    config.write_text(text, encoding="utf-8")
    status, _, err = cli("send", demo, "--config", config, "--dry-run")
    assert status == 2 and message in err and "Traceback" not in err


def snapshot(folder) -> dict:
    return {p.relative_to(folder): (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def test_a_dry_run_writes_nothing(cli, server, demo):
    """Nor before any send (no outbox yet), nor after one: the states shown come from the outbox."""
    before = snapshot(demo.parent)
    status, out, _ = cli("send", demo, "--dry-run")
    assert status == 0 and out.count("将发送") == len(ASSESSORS)
    assert snapshot(demo.parent) == before

    server.refuse = {"jw@example.com"}  # 市纪委市监委: failed, so the outbox holds two states
    cli("send", demo)
    before = snapshot(demo.parent)
    status, out, _ = cli("send", demo, "--dry-run")
    assert status == 0 and out.count("上次失败，将重发") == 1 and out.count("已发送，将跳过") == len(ASSESSORS) - 1
    assert snapshot(demo.parent) == before


@pytest.mark.parametrize("body", ["{{ 'a' * 10**10 }}", "{{ year ** year ** year }}",
                                  "{% for a in range(99999) %}{% for b in range(99999) %}x{% endfor %}{% endfor %}"])
def test_a_hostile_mail_template_is_a_clear_error(cli, server, demo, body):
    (demo.parent / "xlpipeline-mail.toml").write_text(f"[mail]\nbody = \"{body}\"\n", encoding="utf-8")
    status, _, err = cli("send", demo, "--dry-run")
    assert status == 2 and "邮件模板错误" in err and "Traceback" not in err, err
    assert not server.received


def test_a_rescored_workbook_sends_its_changed_attachments(cli, server, demo):
    """The outbox knows a message by its attachments' digest too: after a new case and 重新计算,
    each assessor gets the changed attachment; without a change nothing goes twice."""
    from openpyxl import load_workbook as load
    assert cli("send", demo)[0] == 0 and len(server.received) == len(ASSESSORS)
    wb = load(demo)
    wb["扣分台账"].append([date(2026, 11, 2), None, "9.D", 1, None, "补录", "", "综合科"])
    wb.save(demo)
    assert cli("score", demo)[0] == 0
    status, out, err = cli("send", demo)
    assert status == 0, err
    assert len(server.received) == 2 * len(ASSESSORS) and all(len(v) == 2 for v in by_unit(server).values())


def test_the_outbox_is_written_durably(demo):
    """Each state change reaches the disk before the next message goes (synchronous=FULL in WAL mode)."""
    from xlpipeline.mail.outbox import OUTBOX_NAME, Outbox
    outbox = Outbox(demo.parent / OUTBOX_NAME)
    try:
        assert outbox.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert outbox.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        outbox.close()


def test_saved_settings_keep_what_the_page_does_not_show(tmp_path):
    """save_settings writes the given [smtp] keys over the file's: a blank one is removed, others
    (cafile, which the page does not show) and [mail] stay."""
    import tomllib
    from xlpipeline.mail.transport import save_settings
    path = tmp_path / "mail.toml"
    path.write_text('[smtp]\nhost = "a.example"\ncafile = "ca.pem"\nuser = "u"\nfrom = "a@b.cn"\n'
                    '[mail]\nsubject = "x"\n', encoding="utf-8")
    save_settings(path, {"host": "b.example", "user": "", "from": "a@b.cn", "port": "25"})
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {
        "smtp": {"host": "b.example", "cafile": "ca.pem", "from": "a@b.cn", "port": 25}, "mail": {"subject": "x"}}
