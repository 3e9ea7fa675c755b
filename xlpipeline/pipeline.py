"""The library API that the CLI and the Excel buttons both call."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xlpipeline.errors import InputErrors
from xlpipeline.scoring.engine import Results, score
from xlpipeline.scoring.explain import explanations
from xlpipeline.workbook.book import Book, FileBook
from xlpipeline.scoring.ledger import read_book
from xlpipeline.rules import Rules
from xlpipeline.ooxml.patch import Edits, Heights
from xlpipeline.writeback import LiveState, live_state, planned_write, with_live_warnings, write_results


@dataclass(frozen=True)
class Scored:
    rules: Rules
    results: Results
    backup: Path | None


def read_and_score(book: Book) -> tuple[Rules, Results]:
    """Read and validate the workbook and score it; nothing is written."""
    rules, params, cases = read_book(book)
    return rules, score(rules, params, cases)


def _judged(book: Book, restore_formulas: bool = False) -> tuple[Rules, Results, LiveState]:
    """The workbook read, validated and scored, with what its live formulas say added as warnings."""
    rules, results = read_and_score(book)
    state = live_state(book, rules)
    return rules, with_live_warnings(results, state, restore_formulas), state


def score_book(book: Book, dry_run: bool = False, restore_formulas: bool = False) -> Scored:
    """Read and validate the workbook, score it and (unless `dry_run`) write the results into it.
    Live formulas keep their place and get the engine's figures as cached values; ones the user
    overwrote are reported, and put back with `restore_formulas`."""
    if not dry_run:
        book.check_writable()  # fail before the reading work, not after
    rules, results, state = _judged(book, restore_formulas)
    backup = None if dry_run else write_results(book, rules, results, state, restore_formulas)
    return Scored(rules, results, backup)


def score_workbook(path: Path, dry_run: bool = False, restore_formulas: bool = False) -> Scored:
    return score_book(FileBook(path), dry_run, restore_formulas)


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
        rules, results, _ = _judged(book)
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
    rules, results, state = _judged(book)
    edits, heights, _ = planned_write(rules, results, state, in_file=False)
    return Plan(results, edits, heights)
