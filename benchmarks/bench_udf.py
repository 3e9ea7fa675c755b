"""Benchmark the XLP_ worksheet functions: the cost of one call with a warm cache (the log already
read in this recalculation), against one cold call that reads and scores the log (the baseline),
both measured in this run on the demo workbook. Aim: a warm call well under a millisecond, so
that a sheet with 1,000 such cells stays instant. Usage: python benchmarks/bench_udf.py [CALLS]
"""
from __future__ import annotations

import sys
import time

from xlpipeline.workbook.book import FileBook
from xlpipeline.excel import functions
from xlpipeline.resources import DEMO_WORKBOOK


def main(calls: int) -> None:
    book = FileBook(DEMO_WORKBOOK)
    colds = []
    for _ in range(3):
        functions.CACHE.entries.clear()
        start = time.perf_counter()
        functions.deduction(book, 5)
        colds.append(time.perf_counter() - start)
    cold = min(colds)
    start = time.perf_counter()
    for n in range(calls):
        functions.deduction(book, 1 + n % 21)
    warm = (time.perf_counter() - start) / calls
    print(f"{'calls':>7} {'cold call (ms)':>15} {'warm call (µs)':>15} {'warm/cold':>10}")
    print(f"{calls:>7} {cold * 1000:>15.2f} {warm * 1e6:>15.2f} {warm / cold:>9.4f}×")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
