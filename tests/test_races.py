"""A workbook that changes between our read and our write (issue 11, item 7b): a colleague saved
it, or another `score` ran. Real processes; every run ends in a correct file or a clear refusal."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook

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
