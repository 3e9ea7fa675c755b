"""One email as bytes, with headers that real clients decode: one line each, RFC 2047 encoded
words for Chinese subjects and display names, RFC 2231 `filename*` plus an RFC 2047 `name` for
Chinese attachment names, and nothing a unit name or address could inject."""
from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote

from xlpipeline.errors import UserError

ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {".xlsx": XLSX, ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12", ".pdf": "application/pdf"}
WORD_BYTES = 45  # UTF-8 bytes per encoded word, so that each stays within RFC 2047's 75 characters


class HeaderInjection(UserError):
    """A line break (or other control character) in something that goes into a header."""


@dataclass(frozen=True)
class Mailbox:
    name: str
    address: str


@dataclass(frozen=True)
class Attachment:
    path: Path

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.path.suffix.lower()) or mimetypes.guess_type(self.path.name)[0] or \
            "application/octet-stream"


@dataclass(frozen=True)
class Envelope:
    sender: Mailbox
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    subject: str
    body: str
    attachments: tuple[Attachment, ...]
    message_id: str
    date: float | None = field(default=None, compare=False)

    @property
    def recipients(self) -> list[str]:
        return [m.address for m in self.to + self.cc]


def check_header_text(text: str, what: str) -> str:
    if re.search(r"[\x00-\x1f\x7f\u2028\u2029\x85]", text):
        raise HeaderInjection(f"{what}“{text!r}”含有换行或控制字符，拒绝发送")
    return text


def check_address(address: str, what: str) -> str:
    check_header_text(address, what)
    if not ADDRESS.match(address):
        raise UserError(f"{what}“{address}”不是有效的邮箱地址")
    return address


def encoded_words(text: str, always: bool = False) -> str:
    """RFC 2047 base64 encoded words on one line. ASCII text is left as it is unless `always`, or unless
    it looks like an encoded word itself: readers would decode that, so it is encoded to show literally."""
    if text.isascii() and not always and "=?" not in text:
        return text
    words, chunk = [], b""
    for ch in text:
        piece = ch.encode("utf-8")
        if len(chunk) + len(piece) > WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += piece
    words.append(chunk)
    return " ".join(f"=?utf-8?b?{base64.b64encode(w).decode()}?=" for w in words)


def mailbox_header(box: Mailbox) -> str:
    check_header_text(box.name, "收件人姓名")
    check_address(box.address, "邮箱")
    if not box.name:
        return box.address
    # always encoded: no quoting rules to get right, and the sheet's text never chooses what readers decode
    return f"{encoded_words(box.name, always=True)} <{box.address}>"


def message_id(key: str, sender: str) -> str:
    """The same message (round, recipients, attachment) always gets the same Message-ID."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{sender.rsplit('@', 1)[1]}>"


def render(envelope: Envelope) -> bytes:
    """The message as sent: multipart/mixed with a UTF-8 text body and base64 attachments."""
    boundary = "=_xlp_" + envelope.message_id.strip("<>").split("@")[0]
    headers = [
        ("From", mailbox_header(envelope.sender)),
        ("To", ", ".join(map(mailbox_header, envelope.to))),
        *([("Cc", ", ".join(map(mailbox_header, envelope.cc)))] if envelope.cc else []),
        ("Subject", encoded_words(check_header_text(envelope.subject, "主题"))),
        ("Date", formatdate(envelope.date, localtime=True)),
        ("Message-ID", envelope.message_id),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed; boundary="{boundary}"'),
    ]
    lines = [f"{name}: {value}" for name, value in headers] + ["", "This is a MIME message.", ""]
    lines += [f"--{boundary}", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", ""]
    lines += _base64_lines(envelope.body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"))
    for attachment in envelope.attachments:
        name = check_header_text(attachment.path.name, "附件名")
        lines += [
            f"--{boundary}",
            f'Content-Type: {attachment.content_type}; name="{encoded_words(name)}"',
            f"Content-Disposition: attachment; filename*=UTF-8''{quote(name, safe='')}",
            "Content-Transfer-Encoding: base64",
            "",
        ]
        lines += _base64_lines(attachment.data)
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


def _base64_lines(data: bytes) -> list[str]:
    text = base64.b64encode(data).decode("ascii")
    return [text[i:i + 76] for i in range(0, len(text), 76)] or [""]
