"""The library API that the CLI and the Excel buttons both call."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xlpipeline.scoring.engine import Results, score
from xlpipeline.workbook.book import Book, FileBook
from xlpipeline.scoring.ledger import read_book
from xlpipeline.rules import Rules
from xlpipeline.writeback import live_state, with_live_warnings, write_results


@dataclass(frozen=True)
class Scored:
    rules: Rules
    results: Results
    backup: Path | None


def read_and_score(book: Book) -> tuple[Rules, Results]:
    """Read and validate the workbook and score it; nothing is written."""
    rules, params, cases = read_book(book)
    return rules, score(rules, params, cases)


def score_book(book: Book, dry_run: bool = False, restore_formulas: bool = False) -> Scored:
    """Read and validate the workbook, score it and (unless `dry_run`) write the results into it.
    Live formulas keep their place and get the engine's figures as cached values; ones the user
    overwrote are reported, and put back with `restore_formulas`."""
    if not dry_run:
        book.check_writable()  # fail before the reading work, not after
    rules, results = read_and_score(book)
    state = live_state(book, rules)
    results = with_live_warnings(results, state, restore_formulas)
    backup = None if dry_run else write_results(book, rules, results, state, restore_formulas)
    return Scored(rules, results, backup)


def score_workbook(path: Path, dry_run: bool = False, restore_formulas: bool = False) -> Scored:
    return score_book(FileBook(path), dry_run, restore_formulas)
