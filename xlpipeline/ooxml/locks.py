"""The lock files Excel, WPS and LibreOffice keep beside a workbook they have open, and whether one
looks left over (its program crashed or the computer was switched off)."""
from __future__ import annotations

import socket
from pathlib import Path

from xlpipeline.errors import FileProblem

LOCK_OWNERS = (("~$", "", "Excel 或 WPS"), (".~lock.", "#", "LibreOffice"), (".~", "", "WPS"))
LIBREOFFICE = "LibreOffice"
PROFILE_ARG = "-env:UserInstallation="


def lock_files(path: Path) -> list[tuple[Path, str]]:
    """Owner/lock files that Excel, WPS or LibreOffice keep beside a workbook they have open, each
    with the program that keeps such files."""
    name = path.name
    if not name:
        return []
    candidates = [(f"{prefix}{name}{suffix}", owner) for prefix, suffix, owner in LOCK_OWNERS]
    if len(path.stem) > 7:  # Excel shortens the owner file of long names by two characters
        candidates.append((f"~${name[2:]}", "Excel 或 WPS"))
    return [(path.with_name(c), owner) for c, owner in candidates if path.with_name(c).exists()]


def check_not_open(path: Path) -> None:
    """Refuse a workbook Excel, WPS or LibreOffice has open (it may hold unsaved cases, and would
    overwrite what we write): say which program, and when the lock file looks left over, how to
    remove it."""
    if path.is_dir() or not path.name:
        raise FileProblem(f"{path}: 这是一个文件夹，不是工作簿")
    locks = lock_files(path)
    if not locks:
        return
    lock, owner = locks[0]
    message = f"{path.name}: 文件正在 {owner} 中打开（发现 {lock.name}），请先保存并关闭再运行"
    why = left_over(lock, owner)
    if why:
        message += f"；{lock.name} {why}，看起来已无程序使用：确认没有程序打开该工作簿后，删除 {lock} 再运行"
    raise FileProblem(message)


def left_over(lock: Path, owner: str) -> str | None:
    """Why a lock file looks left over, or None: older than this computer's last start, or (for
    LibreOffice's, which names its computer and profile) no LibreOffice runs here with that profile."""
    import psutil  # only when a lock file is found
    try:
        if lock.stat().st_mtime < psutil.boot_time():
            return "是电脑上次重启之前留下的"
    except OSError:
        return None
    if owner == LIBREOFFICE:
        fields = _libreoffice_fields(lock)
        if fields and fields[2] == socket.gethostname() and not _libreoffice_running(fields[4]):
            return "所记录的 LibreOffice（本机）已不在运行"
    return None


def _libreoffice_fields(lock: Path) -> list[str] | None:
    """A LibreOffice lock file's fields: user name, system user, computer, time, profile URL."""
    try:
        text = lock.read_bytes()[:4096].decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    fields = text.rstrip().removesuffix(";").split(",")
    return fields if len(fields) == 5 and "\\" not in text else None  # escaped commas: not worth guessing


def _libreoffice_running(profile: str) -> bool:
    """Whether a LibreOffice process here could be using `profile`: one started with it, or one
    with the default profile (whose URL we do not work out), or one we may not look into."""
    import psutil
    for process in psutil.process_iter(["name", "cmdline"]):
        name = (process.info["name"] or "").lower()
        if not name.startswith(("soffice", "oosplash")):  # oosplash starts soffice.bin (Linux)
            continue
        args = process.info["cmdline"]
        if args is None:  # another user's process, not readable: it may be the owner
            return True
        given = [a.removeprefix(PROFILE_ARG) for a in args if a.startswith(PROFILE_ARG)]
        if not given or profile in given:
            return True
    return False
