"""Crash-safe saving, step by step: what reaches the disk before the rename, the modes files get,
the temp files of failed or killed saves, and other processes' saves in the same folder."""
from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

import pytest

from xlpipeline.ooxml.safesave import replace_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes and /proc")


def written(data: bytes):
    return lambda handle: handle.write(data)


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".~xlp-"))


@pytest.fixture
def calls(monkeypatch):
    """Every fsync (by the path of its descriptor) and replace, in order."""
    seen = []
    fsync, replace = os.fsync, os.replace

    def traced_fsync(fd):
        seen.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return fsync(fd)

    def traced_replace(src, dst):
        seen.append(("replace", str(src), str(dst)))
        return replace(src, dst)

    monkeypatch.setattr(os, "fsync", traced_fsync)
    monkeypatch.setattr(os, "replace", traced_replace)
    return seen


def test_the_data_is_on_disk_before_the_rename_and_the_rename_after(tmp_path, calls):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(b"old")
    replace_file(path, written(b"new"))
    assert path.read_bytes() == b"new"
    (rename,) = [c for c in calls if c[0] == "replace"]
    temp = rename[1]
    assert Path(temp).parent == tmp_path and rename[2] == str(path)
    assert calls.index(("fsync", temp)) < calls.index(rename), "the temp file's data is synced first"
    assert ("fsync", str(tmp_path)) in calls[calls.index(rename):], "the folder entry is synced after"


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(b"old")
    path.chmod(0o640)
    replace_file(path, written(b"new"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_follows_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        replace_file(tmp_path / "附件1.xlsx", written(b"new"), backup=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "附件1.xlsx").stat().st_mode) == mode


def test_a_failed_write_leaves_the_file_and_no_temp(tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(b"old")

    def fail(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        replace_file(path, fail)
    assert path.read_bytes() == b"old" and temps(tmp_path) == []


def test_another_saves_temp_file_is_left_alone(tmp_path):
    """A temp file another process is still writing is held (locked); an abandoned one is not."""
    path = tmp_path / "台账.xlsx"
    path.write_bytes(b"old")
    live, abandoned, fresh = (tmp_path / f".~xlp-台账-{n}.xlsx" for n in ("live", "dead", "new"))
    for temp in (live, abandoned, fresh):
        temp.write_bytes(b"partial")
    for temp in (live, abandoned):
        os.utime(temp, (0, 0))
    with open(live, "rb") as writer:  # flock locks belong to an open file: this is "another process"
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        replace_file(path, written(b"new"))
        assert temps(tmp_path) == sorted([live.name, fresh.name])
    assert path.read_bytes() == b"new"
