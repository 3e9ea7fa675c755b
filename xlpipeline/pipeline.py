"""The library API that the CLI and the Excel buttons both call."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from xlpipeline.errors import FileProblem, InputErrors
from xlpipeline.scoring.calendar import Occurrence, read_calendar, read_for_score
from xlpipeline.scoring.engine import Results, score
from xlpipeline.scoring.explain import explanations
from xlpipeline.workbook.book import Book, FileBook, present_grids
from xlpipeline.scoring.ledger import read_book, rules_of
from xlpipeline.workbook.layout import CALENDAR, PROGRESS
from xlpipeline.rules import Rules
from xlpipeline.ooxml.patch import Edits, Heights
from xlpipeline.writeback import (LiveState, live_state, planned_write, progress_cells, with_live_warnings,
                                 write_results)


@dataclass(frozen=True)
class Scored:
    rules: Rules
    results: Results
    backup: Path | None


def read_and_score(book: Book) -> tuple[Rules, Results]:
    """Read and validate the workbook and score it; nothing is written."""
    rules, params, cases = read_book(book)
    return rules, score(rules, params, cases)


def _judged(book: Book, restore_formulas: bool = False, today: date | None = None
            ) -> tuple[Rules, Results, LiveState, Edits]:
    """The workbook read, validated and scored, with what its live formulas and its 工作日历 (as of
    `today`) say added as warnings — neither changes a figure — and the 工作进度 it would get."""
    rules, results = read_and_score(book)
    state = live_state(book, rules)
    results = with_live_warnings(results, state, restore_formulas)
    today = today or date.today()
    optional = present_grids(book, (CALENDAR, PROGRESS))
    entries, hints = read_for_score(book, rules, optional.get(CALENDAR), today)
    results = replace(results, warnings=results.warnings + tuple(hints))
    return rules, results, state, progress_cells(rules, entries, today, optional.get(PROGRESS))


def score_book(book: Book, dry_run: bool = False, restore_formulas: bool = False, today: date | None = None
               ) -> Scored:
    """Read and validate the workbook, score it and (unless `dry_run`) write the results into it.
    Live formulas keep their place and get the engine's figures as cached values; ones the user
    overwrote are reported, and put back with `restore_formulas`."""
    if not dry_run:
        book.check_writable()  # fail before the reading work, not after
    rules, results, state, progress = _judged(book, restore_formulas, today)
    backup = None if dry_run else write_results(book, rules, results, state, restore_formulas, progress)
    return Scored(rules, results, backup)


def score_workbook(path: Path, dry_run: bool = False, restore_formulas: bool = False, today: date | None = None
                   ) -> Scored:
    return score_book(FileBook(path), dry_run, restore_formulas, today)


@dataclass(frozen=True)
class Review:
    """What a workbook's scores are and why, for a page to show; nothing is written. Where the
    workbook has input errors, `results` is None and `errors` holds each (sheet, cell, message)."""
    rules: Rules | None
    results: Results | None
    explanations: dict[int, str]
    errors: tuple[tuple[str, str, str], ...] = ()


def review(book: Book) -> Review:
    try:
        rules, results, _, _ = _judged(book)
    except InputErrors as exc:
        return Review(None, None, {}, tuple(exc.located()))
    return Review(rules, results, explanations(rules, results))


@dataclass(frozen=True)
class Plan:
    """What `score` would write into a workbook, for a front-end that writes it through another
    program's object model (the WPS tab): the results, the cell edits and the row heights."""
    results: Results
    edits: Edits
    heights: Heights


def plan_scores(book: Book) -> Plan:
    """Read, validate and score the workbook as `score` does; InputErrors when it has mistakes."""
    rules, results, state, progress = _judged(book)
    edits, heights, _ = planned_write(rules, results, state, in_file=False, also=progress)
    return Plan(results, edits, heights)


def work_calendar(book: Book) -> tuple[Rules, list[Occurrence]]:
    """The workbook's 工作日历 as staff keep it (with their 完成日期), read and checked."""
    rules = rules_of(book)
    try:
        return rules, read_calendar(book, rules)
    except FileProblem:
        raise FileProblem(f"{book.path.name}: 没有“{CALENDAR}”表：运行 xlpipeline init {book.path.name} --add 添加"
                          "（已有的工作表和内容不变）") from None
