"""What the WPS tab asks of the service. The add-in names the workbook WPS has open by its path
(the one place the service takes a path from a client, and only with the WPS link's token): the
service reads that saved file — through the package gate, as every command — and never writes it,
since WPS has it open; the add-in writes the results through WPS's object model instead."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from xlpipeline.errors import InputErrors, UserError
from xlpipeline.ooxml.patch import Edits
from xlpipeline.ooxml.parts import Formula
from xlpipeline.pipeline import plan_scores
from xlpipeline.scoring.engine import money
from xlpipeline.workbook.book import FileBook
from xlpipeline.web.app import st
from xlpipeline.web.workbook import is_workbook

PAGES = {"generate": "/generate", "send": "/send", "score": "/score"}


def workbook_named(text) -> Path:
    path = Path(text) if isinstance(text, str) and text else None
    if path is None or not path.is_absolute() or not path.is_file() or not is_workbook(path):
        raise UserError(f"找不到工作簿“{text}”：请先把工作簿保存为 .xlsx 或 .xlsm 文件")
    return path


def edit_list(edits: Edits) -> list[dict]:
    """The plan's cell edits as JSON: text stays text, amounts are exact decimal strings, dates ISO, our own
    formulas are named so that the add-in leaves them to WPS (it computes them itself)."""
    out = []
    for sheet, cells in edits.items():
        for ref, value in cells.items():
            edit = {"sheet": sheet, "ref": ref}
            if isinstance(value, Formula):
                edit.update(formula=value.text, replace=value.replace)
            elif isinstance(value, (Decimal, int)) and not isinstance(value, bool):
                edit["number"] = str(value)
            elif isinstance(value, date):
                edit["date"] = value.isoformat()
            elif value is None or value == "":
                edit["empty"] = True
            else:
                edit["text"] = str(value)
            out.append(edit)
    return out


async def score_for_wps(request: Request) -> JSONResponse:
    try:
        asked = json.loads(await request.body())
        path = workbook_named(asked.get("path") if isinstance(asked, dict) else None)
        plan = plan_scores(FileBook(path))
    except ValueError:
        return JSONResponse({"ok": False, "message": "请求格式不对"}, 400)
    except InputErrors as exc:
        return JSONResponse({"ok": False, "errors": [{"sheet": s, "ref": r, "message": m} for s, r, m in exc.located()],
                             "message": f"台账有 {len(exc.messages)} 处问题"})
    except UserError as exc:
        return JSONResponse({"ok": False, "message": str(exc)})
    return JSONResponse({"ok": True, "total": money(plan.results.total), "bonus": money(plan.results.bonus),
                         "warnings": list(plan.results.warnings), "edits": edit_list(plan.edits),
                         "heights": [{"sheet": s, "row": r, "height": h} for s, rows in plan.heights.items()
                                     for r, h in rows.items()]})


async def open_in_pane(request: Request) -> RedirectResponse:
    """A page of the service in WPS's task pane, with WPS's workbook chosen (the guard has checked
    the link's token and set the cookie)."""
    to = PAGES.get(request.query_params.get("to", ""))
    if to is None:
        raise HTTPException(404, "没有这个页面")
    try:
        st(request).choose(workbook_named(request.query_params.get("path")))
    except UserError as exc:
        raise HTTPException(400, str(exc)) from None
    by = request.query_params.get("by")
    return RedirectResponse(to + (f"?{urlencode({'by': by})}" if by else ""), 303)


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


routes = [Route("/api/wps/score", score_for_wps, methods=["POST"]), Route("/api/wps/ping", ping, methods=["POST"]),
          Route("/wps/open", open_in_pane)]
