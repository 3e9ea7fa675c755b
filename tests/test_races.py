"""A workbook that changes between our read and our write (issue 11, item 7b): a colleague saved
it, or another `score` ran. Real processes; every run ends in a correct file or a clear refusal."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import traceback
from datetime import date
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook

from test_fault_injection import count_save_steps
from xlpipeline.errors import FileProblem
from xlpipeline.pipeline import score_workbook
from xlpipeline.rules import load_rules
from xlpipeline.workbook.book import FileBook
from xlpipeline.workbook.layout import SUMMARY, SummaryLayout

CHANGED = "工作簿在计分期间被修改，请重新运行"
SUMMARY_AT = SummaryLayout(load_rules(2026))


def written_figures(path) -> tuple:
    """What `score` wrote into 得分汇总: each item's deduction and the total."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SUMMARY).to_python()
    cent = lambda v: Decimal(repr(v)).quantize(Decimal("0.01")) if isinstance(v, float) else v  # noqa: E731
    return (tuple(cent(rows[SUMMARY_AT.item_row(no) - 1][3]) for no in range(1, 23)),
            cent(rows[SUMMARY_AT.total_row - 1][3]))


def engine_figures(path) -> tuple:
    results = score_workbook(path, dry_run=True).results
    return tuple(Decimal(str(results.item(no).amount)).quantize(Decimal("0.01")) for no in range(1, 23)), \
        results.total


def correct(path) -> bool:
    """The figures written in the file are those of the log in the file."""
    written, total = written_figures(path)
    expected, expected_total = engine_figures(path)
    return total == expected_total and written[:21] == expected[:21]


def score_process(path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xlpipeline", "score", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture
def two_logs(make_workbook):
    """The same workbook with two different logs, as a colleague's save would make it."""
    first = make_workbook([(date(2026, 3, 1), None, "9.D", 3)], 95, name="一.xlsx")
    second = make_workbook([(date(2026, 3, 1), None, "9.D", 3), (date(2026, 5, 1), None, "1.B", 2)], 95,
                           name="二.xlsx")
    return first, second


def test_a_save_between_read_and_write_is_not_overwritten(two_logs, tmp_path, monkeypatch):
    """In-process and deterministic: the colleague's save lands after our read, before our write."""
    first, second = two_logs
    path = tmp_path / "台账.xlsx"
    shutil.copyfile(first, path)
    book = FileBook(path)
    original_write = FileBook.write

    def colleague_saves_first(self, *args, **kwargs):
        shutil.copyfile(second, path.with_name("save.tmp"))
        path.with_name("save.tmp").replace(path)  # how Excel and WPS save: a new file under the name
        return original_write(self, *args, **kwargs)

    monkeypatch.setattr(FileBook, "write", colleague_saves_first)
    from xlpipeline.pipeline import score_book
    with pytest.raises(FileProblem, match=CHANGED):
        score_book(book)
    assert path.read_bytes() == second.read_bytes()  # the colleague's work, untouched
    assert not (tmp_path / ".xlpipeline-backup").exists()


def test_an_edit_in_place_is_seen_too(two_logs, tmp_path, monkeypatch):
    """A tool that rewrites the file in place (same inode): the content is compared, not the inode."""
    first, second = two_logs
    path = tmp_path / "台账.xlsx"
    shutil.copyfile(first, path)
    original_write = FileBook.write

    def rewritten_in_place(self, *args, **kwargs):
        path.write_bytes(second.read_bytes())
        return original_write(self, *args, **kwargs)

    monkeypatch.setattr(FileBook, "write", rewritten_in_place)
    from xlpipeline.pipeline import score_book
    with pytest.raises(FileProblem, match=CHANGED):
        score_book(FileBook(path))
    assert path.read_bytes() == second.read_bytes()


def test_two_score_runs_at_once_end_correct_or_refused(two_logs, tmp_path):
    first, _ = two_logs
    path = tmp_path / "台账.xlsx"
    outcomes = []
    for _ in range(12):
        shutil.copyfile(first, path)
        runs = [score_process(path) for _ in range(2)]
        for run in runs:
            out, err = run.communicate(timeout=120)
            outcomes.append(run.returncode)
            assert run.returncode == 0 or (run.returncode == 2 and CHANGED in err), err
            assert "Traceback" not in err
        assert correct(path)
    assert 0 in outcomes


def test_a_colleague_saving_during_score_is_never_overwritten_with_stale_figures(two_logs, tmp_path):
    """`score` on the first log while the second log is saved over it at varying moments: the
    result is the second log scored by us, or the second log as saved with us refusing."""
    first, second = two_logs
    path = tmp_path / "台账.xlsx"
    for delay in (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5):
        shutil.copyfile(first, path)
        run = score_process(path)
        time.sleep(delay)
        shutil.copyfile(second, path.with_name("save.tmp"))
        path.with_name("save.tmp").replace(path)
        _, err = run.communicate(timeout=120)
        assert "Traceback" not in err
        if run.returncode == 2:
            assert CHANGED in err and path.read_bytes() == second.read_bytes(), err
        else:
            assert run.returncode == 0, err
            # scored before the save (the save then replaced our file) or after it: never a mix
            assert path.read_bytes() == second.read_bytes() or correct(path)



def colleague_saves(second, path, how: str) -> None:
    """Another program saves its version, in a process of its own: a new file renamed over the
    name (Excel, WPS, LibreOffice), or the same file rewritten in place."""
    if how == "rename":
        subprocess.run(["cp", str(second), str(path.with_name("colleague.tmp"))], check=True)
        subprocess.run(["mv", "-f", str(path.with_name("colleague.tmp")), str(path)], check=True)
    else:
        subprocess.run(["dd", f"if={second}", f"of={path}", "conv=notrunc", "status=none"], check=True)
        subprocess.run(["truncate", "-s", str(second.stat().st_size), str(path)], check=True)


def score_pausing_at(path, pause_at: int):
    """`score` in a forked child that stops before step `pause_at` of its write (the start of the
    write, each write to the temp file, each os call of the save, the name exchange) until the
    parent writes to `go`. Returns the child's pid, the pipe it reports on (`!` when it reached the
    step, then `=code:message` at its end), the `go` pipe, the first byte read and whether it is `!`."""
    from xlpipeline.ooxml import safesave
    reached_r, reached_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reached_r)
        os.close(go_w)
        code, message = 1, ""
        try:
            steps = 0

            def step():
                nonlocal steps
                if steps == pause_at:
                    os.write(reached_w, b"!")
                    os.read(go_r, 1)
                steps += 1

            counted = count_save_steps(step)
            safesave._exchange = counted(safesave._exchange)  # and the name exchange, and the start
            safesave.patch_file = counted(safesave.patch_file)
            try:
                score_workbook(path)
                code = 0
            except FileProblem as exc:
                code, message = 2, str(exc)
        except BaseException:
            traceback.print_exc()
        finally:
            os.write(reached_w, f"={code}:{message}".encode())
            os._exit(code)
    os.close(reached_w)
    os.close(go_r)
    mark = os.read(reached_r, 1)
    return pid, reached_r, go_w, mark, mark == b"!"


def test_a_colleague_saving_at_any_step_of_our_write_is_never_lost(two_logs, tmp_path):
    """Issue 27, item 1: at every step of the write (the last ones are the name exchange and the
    rename), a real second process saves the colleague's version; whatever we do, the name ends
    holding exactly the colleague's file: we refused, or our save came first and theirs replaced it."""
    first, second = two_logs
    path = tmp_path / "台账.xlsx"
    tries, refused = 0, 0
    for how in ("rename", "in place"):
        pause_at = 0
        while True:
            shutil.copyfile(first, path)
            pid, reached_r, go_w, mark, reached = score_pausing_at(path, pause_at)
            if reached:
                colleague_saves(second, path, how)
                os.write(go_w, b"g")
            end = (mark if not reached else b"") + read_all(reached_r)
            os.close(go_w)
            _, status = os.waitpid(pid, 0)
            code, _, message = end.decode().lstrip("=").partition(":")
            if not reached:
                assert code == "0", message
                break
            tries += 1
            assert os.WIFEXITED(status) and code in ("0", "2"), (how, pause_at, end)
            if code == "2":
                refused += 1
                assert message == CHANGED, message
            assert path.read_bytes() == second.read_bytes(), (how, pause_at, code)  # never lost, never stale
            assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~xlp-")], (how, pause_at)
            pause_at += 1
    assert tries >= 100 and 0 < refused < tries, (tries, refused)


def read_all(fd: int) -> bytes:
    data = b""
    while chunk := os.read(fd, 4096):
        data += chunk
    os.close(fd)
    return data
