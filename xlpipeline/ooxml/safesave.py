"""Replace a user's file so that a crash at any moment leaves either the old or the new file.

The new content goes to a temporary file in the same folder, is flushed to disk, and then
atomically takes the old name. The old version is kept in `.xlpipeline-backup/` beside the
workbook (the last `BACKUPS_KEPT` of each workbook).
"""
from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import BinaryIO, Callable

from xlpipeline.errors import FileProblem
from xlpipeline.ooxml.locks import check_not_open

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

BACKUP_DIR = ".xlpipeline-backup"
BACKUPS_KEPT = 5
CHANGED = "工作簿在计分期间被修改，请重新运行"
FRESH_SECONDS = 5  # an unheld temp file younger than this may belong to a save just starting


def replace_file(path: Path, write: Callable[[BinaryIO], None], backup: bool = True) -> Path | None:
    """Write the new content through `write`, keep a backup of the old file (unless `backup` is
    false: for files we generate), then swap it in. Returns the backup."""
    check_not_open(path)
    return _replace(path, write, backup, None)


def patch_file(path: Path, patch: Callable[[BinaryIO, BinaryIO], None], unchanged: str | None = None) -> Path | None:
    """A new version of a user's file made from its content: `patch(source, out)` reads it through
    `source`, the one handle opened and checked here (never by name again). `unchanged`: the digest
    of what the caller read before; if the file no longer holds it, nothing is replaced. The new
    version takes the name only if the name still holds that very file at that moment (a colleague's
    save in between is never overwritten: “工作簿在计分期间被修改”). Returns the backup, which is
    exactly the file that was patched."""
    check_not_open(path)
    with _turn(path, unchanged) as source:
        try:
            return _replace(path, lambda out: patch(source.handle, out), True, source)
        except FileProblem:
            if not source.is_at(path):  # rewritten in place while we read it: that is the cause
                raise FileProblem(CHANGED) from None
            raise


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class _Source:
    """The user's file as opened for patching: the handle and the digest of its content."""
    handle: BinaryIO
    digest: str

    def is_at(self, name: Path, content: bool = True) -> bool:
        """`name` is this very file (same inode), still with the same content (no edit in place)."""
        try:
            here, ours = os.stat(name), os.fstat(self.handle.fileno())
        except FileNotFoundError:
            return False
        if (here.st_dev, here.st_ino) != (ours.st_dev, ours.st_ino):
            return False
        if not content:
            return True
        self.handle.seek(0)
        return hashlib.file_digest(self.handle, "sha256").hexdigest() == self.digest


@contextmanager
def _turn(path: Path, digest: str | None):
    """Our writers of one workbook take turns (a lock on the file itself, held until it is
    replaced), and each checks that the file still holds what it read: another run that went
    first, or a colleague's save, makes it refuse rather than write figures of a log that is gone."""
    try:
        current = open(path, "rb")
    except FileNotFoundError:
        raise FileProblem(CHANGED if digest else f"{path}: 文件不存在") from None
    with current:
        if fcntl is not None:
            fcntl.flock(current.fileno(), fcntl.LOCK_EX)  # waits while another of our runs replaces it
        source = _Source(current, hashlib.file_digest(current, "sha256").hexdigest())
        if (digest is not None and source.digest != digest) or not source.is_at(path, content=False):
            raise FileProblem(CHANGED)
        current.seek(0)
        yield source


def _replace(path: Path, write: Callable[[BinaryIO], None], backup: bool, source: _Source | None) -> Path | None:
    folder = path.parent
    if not os.access(folder, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise FileProblem(f"{folder}: 文件夹不可写，无法保存 {path.name}")
    prefix = f".~xlp-{path.stem}-"
    _remove_abandoned(folder.glob(f"{_glob_escape(prefix)}*{path.suffix}"))
    try:
        handle = tempfile.NamedTemporaryFile(dir=folder, prefix=prefix, suffix=path.suffix, delete=False)
    except OSError as exc:
        raise FileProblem(f"{folder}: 无法创建临时文件：{exc.strerror}") from None
    temp, ours = Path(handle.name), os.fstat(handle.fileno()).st_ino
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
        if source is None:
            kept = _backup(path) if backup and path.exists() else None
            os.replace(temp, path)
        else:
            kept = _swap_checked(temp, path, source, ours)
    except BaseException:
        if temp.exists() and os.stat(temp).st_ino == ours:  # never a file that is not ours
            temp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return kept


def _swap_checked(temp: Path, path: Path, source: _Source, ours: int) -> Path:
    """Put the new version (`temp`) under the name only if the name still holds `source`. Where the
    system can exchange two names atomically (Linux), the check is made on what the exchange took
    out of the name, and a file that is not `source` is put straight back; elsewhere it is made just
    before the rename."""
    if not _exchange(temp, path):
        if not source.is_at(path):
            raise FileProblem(CHANGED)
        kept = _backup(path)
        os.replace(temp, path)
        return kept
    if source.is_at(temp):  # `temp` now names the file we patched: it becomes the backup
        return _backup(path, temp)
    _exchange(temp, path)  # a colleague's save: theirs goes back under the name
    if os.stat(temp).st_ino != ours:  # and another save came in the microseconds between: newest wins,
        _exchange(temp, path)           # the one it superseded is kept with the backups
        _backup(path, temp)
    raise FileProblem(CHANGED)


_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two names atomically (Linux renameat2 RENAME_EXCHANGE); False where the system or the
    file system cannot, so the caller renames instead."""
    call = _renameat2()
    if call is None:
        return False
    if call(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    if error == errno.ENOENT:  # the workbook's name is gone: it was moved or deleted meanwhile
        raise FileProblem(CHANGED)
    raise OSError(error, os.strerror(error), str(b))


@cache
def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return function


def _backup(path: Path, moved: Path | None = None) -> Path:
    """A backup of `path`'s current file (a link: the old inode survives the replace), or, given
    `moved`, that file (the old version, already out of the name) moved into the backups."""
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    backup = folder / f"{path.stem}.{stamp}{path.suffix}"
    if moved is not None:
        os.replace(moved, backup)
    else:
        try:
            os.link(path, backup)
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
