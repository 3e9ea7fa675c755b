"""Benchmark the warm local page: the server's work for one request of the 得分 page on the demo
(the guard, reading and scoring the workbook, the 扣分说明, rendering the page), called through
the ASGI app in this process with rules, templates and modules already loaded, against calamine
alone reading the same two sheets (扣分台账 and 参数) in this process. Aim (issue 22): ≤ 2×.
Usage: python benchmarks/bench_web.py [REQUESTS]
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from python_calamine import CalamineWorkbook

from common import best
from xlpipeline.resources import DEMO_WORKBOOK
from xlpipeline.web.app import create_app
from xlpipeline.web.state import State
from xlpipeline.workbook.layout import LEDGER, PARAMS


def score_page(app, state: State) -> int:
    """One GET /score through the app, as uvicorn would hand it over; returns the status."""
    scope = {"type": "http", "method": "GET", "path": "/score", "raw_path": b"/score", "query_string": b"",
             "root_path": "", "scheme": "http", "server": ("127.0.0.1", state.port), "http_version": "1.1",
             "headers": [(b"host", f"127.0.0.1:{state.port}".encode()), (b"cookie", f"xlpipeline={state.token}".encode())]}
    answer = {}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]

    asyncio.run(app(scope, receive, send))
    return answer["status"]


def calamine_read() -> None:
    book = CalamineWorkbook.from_path(str(DEMO_WORKBOOK))
    for sheet in (LEDGER, PARAMS):
        book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def main(requests: int) -> None:
    state = State(port=8765, start=Path(tempfile.gettempdir()), workbook=DEMO_WORKBOOK)
    app = create_app(state)
    assert score_page(app, state) == 200  # warm: modules, rules and templates loaded
    base = best(calamine_read, requests)
    page = best(lambda: score_page(app, state), requests)
    print(f"{'requests':>9} {'calamine (ms)':>14} {'得分 page (ms)':>15} {'ratio':>7}")
    print(f"{requests:>9} {base * 1000:>14.2f} {page * 1000:>15.2f} {page / base:>6.1f}×")
    state.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
