"""The library API that the CLI and the Excel buttons both call."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xlpipeline.engine import Results, score
from xlpipeline.ledger import read_workbook
from xlpipeline.rules import Rules
from xlpipeline.safesave import check_not_open
from xlpipeline.writeback import write_results


@dataclass(frozen=True)
class Scored:
    rules: Rules
    results: Results
    backup: Path | None


def score_workbook(path: Path, dry_run: bool = False) -> Scored:
    """Read and validate the workbook, score it and (unless `dry_run`) write the results into it."""
    if not dry_run:
        check_not_open(path)  # fail before the reading work, not after
    rules, params, cases = read_workbook(path)
    results = score(rules, params, cases)
    backup = None if dry_run else write_results(path, rules, results)
    return Scored(rules, results, backup)
