"""汇总 (for the assessing units): drop attachments, folders' worth of files, .eml and .zip; the
ranked table, 单项统计, a chart drawn in the page, 问题清单, and the roll-up's downloads."""
from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.routing import Route

from xlpipeline.names import ROLLUP_NAME
from xlpipeline.outputs.collect import collect, write_rollup
from xlpipeline.outputs.render import inside, safe_name
from xlpipeline.outputs.report import groups
from xlpipeline.rules import available_years, load_rules
from xlpipeline.scoring.engine import money
from xlpipeline.web.app import back, page, posted, st, start_job

BAR, GAP, LABEL, WIDTH = 22, 6, 170, 900  # the chart's geometry, in SVG units


def assessors() -> list[str]:
    return list(groups(load_rules(max(available_years())), "考评单位"))


async def collect_page(request: Request):
    return page(request, "collect.html.j2", assessors=assessors())


async def start_collect(request: Request):
    form = await posted(request)
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not uploads:
        return back(request, "/collect", "error", "请选择或拖入要汇总的附件（工作簿、.eml 邮件、.zip 压缩包或整个文件夹）。")
    assessor = str(form.get("assessor", "")) or None
    if assessor is not None and assessor not in assessors():
        return back(request, "/collect", "error", f"考评单位“{assessor}”不在任务清单中。")
    pdf = form.get("pdf") == "1"
    state = st(request)
    folder = state.work_folder("collect")
    inputs, taken = folder / "收到的附件", set()
    inputs.mkdir()
    for upload in uploads:
        name = safe_name(Path(upload.filename.replace("\\", "/")).name)
        with open(inside(inputs, name if "." in name else f"{name}.bin", taken), "wb") as out:
            shutil.copyfileobj(upload.file, out)

    def work(job):
        collected = collect([inputs], assessor, progress=job.report)
        job.report(0, 0, "生成汇总表" + ("和 PDF" if pdf else ""))
        out = folder / ROLLUP_NAME
        made = write_rollup(collected, out, pdf)
        data = collected.to_json()
        (folder / "汇总.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        return rollup_view(collected, data) | {
            "downloads": [{"name": p.name, "key": state.publish(p)} for p in (out, made, folder / "汇总.json") if p]}
    return start_job(request, "collect", "collect", "汇总各单位附件", work)


def rollup_view(collected, data: dict) -> dict:
    scope, rules = collected.scope, collected.rules
    units = collected.units.to_dict("records")
    top = max([rules.max_total] + [u["total"] for u in units])
    ticks = [Decimal(t) for t in range(0, int(top) + 1, 20)]
    scale = lambda v: float((WIDTH - LABEL - 40) * v / top)  # noqa: E731 — zero-based: a bar's length is its score
    bars = [{"unit": u["unit"], "y": i * (BAR + GAP), "width": scale(u["total"]), "value": money(u["total"])}
            for i, u in enumerate(units)]
    return {
        "year": rules.year, "scope": scope.assessor or "全部考评项目", "blocks": list(scope.blocks),
        "units": [{"rank": int(u["rank"]), "unit": u["unit"], "total": money(u["total"]), "bonus": money(u["bonus"]),
                   "deduction": money(u["deduction"]), "blocks": [money(u[("block", b)]) for b in scope.blocks]}
                  for u in units],
        "items": [{"no": r["no"], "units": r["units"], "mean": money(r["mean"]), "max": money(r["max"]),
                   "code": r["code"] or "—"} for r in collected.items.to_dict("records")],
        "problems": data["problems"],
        "chart": {"bars": bars, "height": len(bars) * (BAR + GAP) + 30, "width": WIDTH, "label": LABEL, "bar": BAR,
                  "ticks": [{"x": LABEL + scale(t), "text": str(t)} for t in ticks]},
    }


routes = [Route("/collect", collect_page), Route("/collect", start_collect, methods=["POST"])]
