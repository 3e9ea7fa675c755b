"""SIGKILL during scoring, hundreds of times: the workbook is always the old file or the new one."""
from __future__ import annotations

import os
import random
import signal
import shutil
import time
from datetime import date

import pytest
from python_calamine import CalamineWorkbook

from xlpipeline.engine import score
from xlpipeline.ledger import read_workbook
from xlpipeline.pipeline import score_workbook
from xlpipeline.safesave import BACKUP_DIR

TRIALS = 300
ROWS = [(date(2026, 1 + n % 12, 1 + n % 28), None, code, 1 + n % 3)
        for n, code in enumerate(["9.D", "13.A", "18.A", "5.B", "22.D"] * 400)]


def in_child(path, kill_after: float | None = None) -> float:
    """Score `path` in a forked child, SIGKILLed after `kill_after` seconds (None: let it finish).
    Returns how long the child lived; forked children are timed as such (copy-on-write costs)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child scores; whatever happens, it leaves without pytest's clean-up
        try:
            score_workbook(path)
        finally:
            os._exit(0)
    if kill_after is not None:
        time.sleep(kill_after)
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return time.perf_counter() - start


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")
def test_sigkill_anywhere_leaves_old_or_new(make_workbook, tmp_path):
    path = make_workbook(ROWS, satisfaction=96, rank=4)
    original = path.read_bytes()
    reference = tmp_path / "ref" / path.name
    reference.parent.mkdir()
    shutil.copyfile(path, reference)
    start = time.perf_counter()
    score(*read_workbook(reference))
    share = (time.perf_counter() - start) / in_child(reference)  # reading and scoring, then the save
    expected = reference.read_bytes()
    duration = max(in_child(reference) for _ in range(3))
    save_starts = duration * min(share, 1)

    rng = random.Random(2026)
    outcomes = {"old": 0, "new": 0}
    for trial in range(TRIALS):
        path.write_bytes(original)
        # half the kills anywhere, half aimed at the save; a third land after the longest run, so
        # both outcomes are expected many times more often than the bound below asks
        low = 0 if trial % 2 else save_starts * 0.8
        in_child(path, kill_after=rng.uniform(low, duration * 1.5))
        data = path.read_bytes()
        assert data in (original, expected), "a killed save left a damaged workbook"
        outcomes["new" if data == expected else "old"] += 1
    assert outcomes["old"] > 20 and outcomes["new"] > 20, outcomes

    CalamineWorkbook.from_path(str(path)).get_sheet_by_name("任务清单").to_python()
    score_workbook(path)  # a later save clears what killed ones left behind
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".~xlp-")]
    assert leftovers == []
    assert len(list((path.parent / BACKUP_DIR).iterdir())) <= 5
