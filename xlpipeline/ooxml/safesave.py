"""Replace a user's file so that a crash at any moment leaves either the old or the new file.

The new content goes to a temporary file in the same folder, is flushed to disk, and then
atomically takes the old name. The old version is kept in `.xlpipeline-backup/` beside the
workbook (the last `BACKUPS_KEPT` of each workbook).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable

from xlpipeline.errors import FileProblem

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

BACKUP_DIR = ".xlpipeline-backup"
BACKUPS_KEPT = 5
CHANGED = "工作簿在计分期间被修改，请重新运行"
FRESH_SECONDS = 5  # an unheld temp file younger than this may belong to a save just starting


def lock_files(path: Path) -> list[Path]:
    """Owner/lock files that Excel, WPS or LibreOffice keep beside a workbook they have open."""
    name = path.name
    candidates = [f"~${name}", f".~lock.{name}#", f".~{name}"]
    if len(path.stem) > 7:  # Excel shortens the owner file of long names by two characters
        candidates.append(f"~${name[2:]}")
    return [path.with_name(c) for c in candidates if path.with_name(c).exists()]


def check_not_open(path: Path) -> None:
    locks = lock_files(path)
    if locks:
        raise FileProblem(f"{path.name}: 文件正在 Excel/WPS/LibreOffice 中打开（发现 {locks[0].name}），请先关闭再运行")


def replace_file(path: Path, write: Callable[[BinaryIO], None], backup: bool = True,
                 unchanged: str | None = None) -> Path | None:
    """Write the new content through `write`, keep a backup of the old file (unless `backup` is
    false: for files we generate), then swap it in. Returns the backup. `unchanged`: the digest
    of the content the new one was made from; if the file no longer holds it, nothing is replaced."""
    check_not_open(path)
    with _turn(path, unchanged):
        return _replace(path, write, backup)


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@contextmanager
def _turn(path: Path, digest: str | None):
    """Our writers of one workbook take turns (a lock on the file itself, held until it is
    replaced), and each checks that the file still holds what it read: another run that went
    first, or a colleague's save, makes it refuse rather than write figures of a log that is gone."""
    if digest is None:
        yield
        return
    try:
        current = open(path, "rb")
    except FileNotFoundError:
        raise FileProblem(CHANGED) from None
    with current:
        if fcntl is not None:
            fcntl.flock(current.fileno(), fcntl.LOCK_EX)  # waits while another of our runs replaces it
        try:
            same = os.stat(path).st_ino == os.fstat(current.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same or hashlib.file_digest(current, "sha256").hexdigest() != digest:
            raise FileProblem(CHANGED)
        yield


def _replace(path: Path, write: Callable[[BinaryIO], None], backup: bool) -> Path | None:
    folder = path.parent
    if not os.access(folder, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise FileProblem(f"{folder}: 文件夹不可写，无法保存 {path.name}")
    prefix = f".~xlp-{path.stem}-"
    _remove_abandoned(folder.glob(f"{_glob_escape(prefix)}*{path.suffix}"))
    try:
        handle = tempfile.NamedTemporaryFile(dir=folder, prefix=prefix, suffix=path.suffix, delete=False)
    except OSError as exc:
        raise FileProblem(f"{folder}: 无法创建临时文件：{exc.strerror}") from None
    temp = Path(handle.name)
    try:
        with handle:
            _hold(handle)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, temp)
        else:  # a new file gets the mode the user's umask gives, not the temp file's 0600
            os.chmod(temp, 0o666 & ~_umask())
        kept = _backup(path) if backup and path.exists() else None
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return kept


def _backup(path: Path) -> Path:
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    backup = folder / f"{path.stem}.{stamp}{path.suffix}"
    try:
        os.link(path, backup)  # the old inode survives the replace: no copy needed
    except OSError:
        shutil.copy2(path, backup)
    old = sorted(folder.glob(f"{_glob_escape(path.stem)}.[0-9]*{path.suffix}"))
    for stale in old[:-BACKUPS_KEPT]:
        stale.unlink(missing_ok=True)
    return backup


def _hold(handle: BinaryIO) -> None:
    """Mark the temp file as in use for as long as it is open: another process's clean-up then
    leaves it alone (POSIX; on Windows an open file cannot be deleted anyway)."""
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


def _remove_abandoned(candidates) -> None:
    """Delete temp files left by saves that were killed. One whose writer still runs is held; one
    created in the last few seconds may not be held yet (create, then lock), so it is left too."""
    for stale in candidates:
        try:
            with open(stale, "rb") as probe:
                if fcntl is not None:
                    fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                if time.time() - os.fstat(probe.fileno()).st_mtime > FRESH_SECONDS:
                    stale.unlink()
        except OSError:
            pass  # in use, or already gone: leave it, it does no harm


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _glob_escape(text: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
