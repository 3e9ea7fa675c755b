"""得分 (the scores and why, 重新计算) and 生成 (附件1, 分组生成, PDFs, a preview, downloads)."""
from __future__ import annotations

import zipfile
from pathlib import Path

from starlette.requests import Request
from starlette.routing import Route

from xlpipeline.errors import InputErrors, UserError
from xlpipeline.names import GROUPINGS, INDEX
from xlpipeline.outputs.pdf import first_page_png
from xlpipeline.outputs.render import batch, submit
from xlpipeline.pipeline import review, score_book
from xlpipeline.scoring.engine import money
from xlpipeline.workbook.book import FileBook
from xlpipeline.web.app import back, need_workbook, page, posted, st, start_job
from xlpipeline.web.jobs import Busy

CUT_BY = {"code": "超出该情形的上限", "item": "超出本项上限"}


def score_view(rules, results, texts) -> list[dict]:
    """The blocks of 附件1 with their items, each with its deduction, 扣分说明 and cases."""
    def indicator(no: int) -> str:
        return next((s.text for s in rules.indicators if s.first <= no <= s.last), "")

    blocks = []
    for block in results.blocks:
        items = []
        for no in block.items:
            result = results.item(no)
            cases = [{"row": c.case.row, "date": f"{c.case.date:%Y-%m-%d}", "code": c.case.code,
                      "label": rules.codes[c.case.code].label, "count": c.case.count, "modifier": c.case.modifier or "",
                      "points": money(c.points), "counted": money(c.counted), "cut": CUT_BY.get(c.cut_by, ""),
                      "note": c.case.note, "department": c.case.department} for c in result.cases]
            items.append({"no": no, "bonus": result.kind == "bonus", "amount": money(result.amount),
                          "indicator": indicator(no), "work": rules.item(no).work, "text": texts[no], "cases": cases})
        blocks.append({"id": block.id, "points": money(block.points), "score": money(block.score), "items": items})
    return blocks


async def score_page(request: Request):
    path = need_workbook(request)
    state = st(request)
    try:
        found = review(FileBook(path))
    except UserError as exc:
        return page(request, "score.html.j2", problem=str(exc), errors=(), blocks=None)
    copy_key = state.publish(path) if state.copy else None
    if found.results is None:
        return page(request, "score.html.j2", errors=found.errors, blocks=None, copy_key=copy_key)
    results = found.results
    return page(request, "score.html.j2", errors=(), results=results, total=money(results.total),
                bonus=money(results.bonus), blocks=score_view(found.rules, results, found.explanations),
                warnings=results.warnings, copy_key=copy_key)


async def write_scores(request: Request):
    await posted(request)
    path = need_workbook(request)
    try:
        with st(request).jobs.exclusive(str(path)):
            scored = score_book(FileBook(path))
    except Busy:
        return back(request, "/score", "error", "这个工作簿正在生成或发送，请等它完成后再重新计算。")
    except InputErrors as exc:
        return back(request, "/score", "error", f"台账有 {len(exc.messages)} 处问题，没有写入工作簿；请按下表改正后再重新计算。")
    except UserError as exc:
        return back(request, "/score", "error", str(exc))
    kept = f"（原文件备份：{scored.backup}）" if scored.backup and not st(request).copy else ""
    return back(request, "/score", "ok", f"已把计分结果写入 {path.name}：总分 {money(scored.results.total)}{kept}")


async def generate_page(request: Request):
    need_workbook(request)
    return page(request, "generate.html.j2", groupings=GROUPINGS, chosen=request.query_params.get("by"))


def published(state, paths: list[Path]) -> list[dict]:
    return [{"name": p.name, "key": state.publish(p)} for p in paths if p is not None]


def preview(state, pdf: Path | None) -> str | None:
    png = first_page_png(pdf, state.work_folder("preview") / "preview.png") if pdf else None
    return state.publish(png) if png else None


async def make_submit(request: Request):
    form = await posted(request)
    path, state = need_workbook(request), st(request)
    pdf = form.get("pdf") == "1"

    def work(job):
        job.report(0, 0, "生成附件1" + ("和 PDF" if pdf else ""))
        output = submit(FileBook(path), pdf=pdf)
        return {"folder": str(output.path.parent), "files": published(state, [output.path, output.pdf]),
                "preview": preview(state, output.pdf), "total": money(output.score)}
    return start_job(request, "submit", str(path), "生成附件1", work)


async def make_batch(request: Request):
    form = await posted(request)
    path, state = need_workbook(request), st(request)
    by, pdf = str(form.get("by", "")), form.get("pdf") == "1"
    if by not in GROUPINGS:
        return back(request, "/generate", "error", f"请选择分组依据：{'、'.join(GROUPINGS)}")

    def work(job):
        outputs = batch(FileBook(path), by, pdf=pdf, progress=job.report)
        folder = outputs[0].path.parent if outputs else None
        files = [f for o in outputs for f in (o.path, o.pdf) if f is not None]
        bundle = None
        if folder is not None:
            job.report(0, 0, "打包")
            bundle = state.work_folder("batch") / f"{folder.name}.zip"
            with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
                for f in files + [folder / INDEX]:
                    z.write(f, f.name)
        return {"by": by, "folder": str(folder) if folder else "", "zip": published(state, [bundle])[0] if bundle else None,
                "groups": [{"group": o.group, "items": "、".join(map(str, o.items)), "deduction": money(o.deduction),
                            "files": published(state, [o.path, o.pdf])} for o in outputs],
                "preview": preview(state, outputs[0].pdf if outputs else None)}
    return start_job(request, "batch", str(path), f"按{by}分组生成", work)


routes = [Route("/score", score_page), Route("/score/write", write_scores, methods=["POST"]),
          Route("/generate", generate_page), Route("/generate/submit", make_submit, methods=["POST"]),
          Route("/generate/batch", make_batch, methods=["POST"])]
