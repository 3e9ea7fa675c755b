"""What `collect` reads: workbooks given or found in folders (recursively), the spreadsheet
attachments of .eml files, and the members of .zip archives, each with a label that says where it
came from and a time (the file's, the email's Date, the archive member's) that orders resubmissions.

Attachments and members are written to a scratch folder, so that every workbook passes the same
package gate as a file on disk.
"""
from __future__ import annotations

import email
import email.policy
import zipfile
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Iterator

from xlpipeline.errors import FileProblem

WORKBOOKS = (".xlsx", ".xlsm", ".xls")
CONTAINERS = (".eml", ".zip")
MAX_MEMBERS = 5_000
MAX_MEMBER_SIZE = 256 * 2**20
MAX_DEPTH = 3  # an .eml inside a .zip inside an .eml … stops here


@dataclass(frozen=True)
class Source:
    label: str            # where it came from, for the user
    path: Path | None     # the workbook on disk (None: nothing to read, see `problem`)
    time: float           # seconds since the epoch
    problem: str = ""


class Sources:
    """Expand inputs into workbook sources; containers unpack into `scratch`."""

    def __init__(self, scratch: Path, exclude: Path | None = None):
        self.scratch = scratch
        self.exclude = exclude.resolve() if exclude else None
        self.count = 0

    def expand(self, inputs: list[Path]) -> list[Source]:
        found: list[Source] = []
        for path in inputs:
            if path.is_dir():
                for file in sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p)
                                   and p.resolve() != self.exclude and ".xlpipeline-backup" not in p.parts):
                    found += self._file(file, str(file))
            elif path.exists():
                found += self._file(path, str(path), explicit=True)
            else:  # a mistyped input: said before anything is read or written
                raise FileProblem(f"{path}: 文件或文件夹不存在")
        return found

    def _file(self, path: Path, label: str, explicit: bool = False) -> list[Source]:
        suffix = path.suffix.lower()
        time = path.stat().st_mtime
        if suffix == ".eml":
            return list(self._email(path.read_bytes(), label, time, 1))
        if suffix == ".zip":
            return list(self._archive(path, label, 1))
        if suffix in WORKBOOKS or explicit:
            return [Source(label, path, time)]
        return []

    def _save(self, data: bytes, name: str) -> Path:
        self.count += 1
        folder = self.scratch / str(self.count)
        folder.mkdir(parents=True)
        path = folder / ("workbook" + Path(name).suffix.lower())  # the name from data is only shown
        path.write_bytes(data)
        return path

    def _email(self, data: bytes, label: str, time: float, depth: int) -> Iterator[Source]:
        try:
            message = email.message_from_bytes(data, policy=email.policy.default)
            moment = parsedate_to_datetime(message["Date"]).timestamp() if message["Date"] else time
        except Exception:  # noqa: BLE001 — the email package raises assorted errors on damaged headers
            moment = time
            message = email.message_from_bytes(data, policy=email.policy.compat32)
        found = 0
        try:
            attachments = list(_attachments(message))
        except Exception as exc:  # noqa: BLE001 — a damaged message: the email package raises assorted errors
            yield Source(label, None, moment, f"邮件无法解析：{exc}")
            return
        for name, content in attachments:
            suffix = Path(name).suffix.lower()
            inner = f"{label} › {name}"
            if suffix in WORKBOOKS:
                found += 1
                yield Source(inner, self._save(content, name), moment)
            elif suffix in CONTAINERS and depth < MAX_DEPTH:
                found += 1
                yield from (self._email(content, inner, moment, depth + 1) if suffix == ".eml"
                            else self._archive(self._save(content, name), inner, depth + 1))
        if not found:
            yield Source(label, None, moment, "邮件中没有工作簿附件（.xlsx/.xlsm）")

    def _archive(self, path: Path, label: str, depth: int) -> Iterator[Source]:
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) > MAX_MEMBERS:
                    yield Source(label, None, 0, f"压缩包有 {len(members)} 个文件，超过上限 {MAX_MEMBERS}")
                    return
                for member in members:
                    name = _member_name(member)
                    suffix = Path(name).suffix.lower()
                    if suffix not in WORKBOOKS + CONTAINERS or (suffix in CONTAINERS and depth >= MAX_DEPTH):
                        continue
                    inner = f"{label} › {name}"
                    if member.file_size > MAX_MEMBER_SIZE:
                        yield Source(inner, None, 0, "文件过大，未读取")
                        continue
                    content = archive.read(member)
                    moment = datetime(*member.date_time).timestamp()
                    if suffix == ".eml":
                        yield from self._email(content, inner, moment, depth + 1)
                    elif suffix == ".zip":
                        yield from self._archive(self._save(content, name), inner, depth + 1)
                    else:
                        yield Source(inner, self._save(content, name), moment)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, ValueError,
                EOFError, OSError) as exc:
            yield Source(label, None, 0, f"压缩包损坏或无法读取：{exc}")


def _wanted(path: Path) -> bool:
    name = path.name
    return path.suffix.lower() in WORKBOOKS + CONTAINERS and not name.startswith(("~$", ".~lock"))


def _attachments(message) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of every attachment with a name, attached emails' included."""
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            continue  # walk() descends into it
        name = part.get_filename()
        if not name or part.is_multipart():
            continue
        content = part.get_payload(decode=True)
        if isinstance(content, bytes):
            yield str(name), content


def _member_name(member: zipfile.ZipInfo) -> str:
    """A member's name; one stored without the UTF-8 flag by a Chinese Windows is GBK, which zipfile
    read as cp437."""
    name = member.filename
    if not member.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name.rsplit("/", 1)[-1]
