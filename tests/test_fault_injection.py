"""SIGKILL at every step of a save: the workbook is always the old file or the new one.

The child process counts the steps of its own save (each write to the temp file, the fsyncs, the
backup link, the rename) and kills itself with SIGKILL just before step k, for every k: no timing,
no luck. Each child's end is checked too: killed where planned, or (unkilled) exit status 0."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import traceback
from datetime import date

import pytest
from python_calamine import CalamineWorkbook

from xlpipeline.ooxml import safesave
from xlpipeline.pipeline import score_workbook
from xlpipeline.ooxml.safesave import BACKUP_DIR

ROWS = [(date(2026, 1 + n % 12, 1 + n % 28), None, code, 1 + n % 3)
        for n, code in enumerate(["9.D", "13.A", "18.A", "5.B", "22.D"] * 400)]
STEPS = ("fsync", "link", "replace", "copymode", "chmod")  # os/shutil calls of a save, besides writes


class _Counted:
    """The temp file, counting each write as a step."""

    def __init__(self, handle, step):
        self._handle, self._step = handle, step

    def write(self, data):
        self._step()
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        self._handle.__enter__()
        return self

    def __exit__(self, *exc):
        return self._handle.__exit__(*exc)


def count_save_steps(step):
    """In a forked child: call `step()` before each step of every save (each write to the temp file,
    each os call of the save). Returns the wrapper, for further calls to count."""
    def counted(function):
        def call(*args, **kwargs):
            step()
            return function(*args, **kwargs)
        return call

    for name in STEPS:
        module = shutil if name == "copymode" else os
        setattr(module, name, counted(getattr(module, name)))
    temp = tempfile.NamedTemporaryFile
    safesave.tempfile.NamedTemporaryFile = lambda *a, **k: _Counted(temp(*a, **k), step)
    return counted


def in_child(path, kill_at: int | None) -> tuple[int, int]:
    """Score `path` in a forked child that SIGKILLs itself before save step `kill_at` (None: never).
    Returns the child's wait status and (through a pipe) how many steps it took."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        status = 1
        try:
            steps = 0

            def step():
                nonlocal steps
                if steps == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                steps += 1

            count_save_steps(step)
            score_workbook(path)
            os.write(write, str(steps).encode())
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)  # whatever happens, the child leaves without pytest's clean-up
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        steps = pipe.read()
    return status, int(steps or -1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")
def test_sigkill_at_every_step_leaves_old_or_new(make_workbook, tmp_path):
    path = make_workbook(ROWS, satisfaction=96, rank=4)
    original = path.read_bytes()
    status, steps = in_child(path, None)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and steps > len(STEPS)
    expected = path.read_bytes()
    assert expected != original

    outcomes = []
    for kill_at in range(steps):
        path.write_bytes(original)
        status, _ = in_child(path, kill_at)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (kill_at, status)
        data = path.read_bytes()
        assert data in (original, expected), f"killed before step {kill_at}: a damaged workbook"
        outcomes.append("new" if data == expected else "old")
    # the rename is the one step that changes what the workbook's name holds
    switch = outcomes.index("new")
    assert outcomes == ["old"] * switch + ["new"] * (steps - switch), outcomes
    assert 0 < switch < steps, (switch, steps)

    CalamineWorkbook.from_path(str(path)).get_sheet_by_name("任务清单").to_python()
    leftovers = [p for p in path.parent.iterdir() if p.name.startswith(".~xlp-")]
    assert leftovers, "the killed saves left temp files (the clean-up below has something to do)"
    for leftover in leftovers:  # abandoned a while ago: a fresh unheld one might be a save starting
        os.utime(leftover, (0, 0))
    score_workbook(path)  # a later save clears what killed ones left behind
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".~xlp-")] == []
    assert len(list((path.parent / BACKUP_DIR).iterdir())) <= 5
