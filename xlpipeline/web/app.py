"""The ASGI app: pages for the workbook, its scores, the forms, sending and the roll-up.

Starlette (with uvicorn) serves it: a small, well-kept ASGI toolkit with routing, forms and static
files and nothing else, so the server starts fast and the pages are plain jinja2 (escaped
everywhere), like the rest of the program. Each handler calls the library; none holds a rule."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from xlpipeline import __version__
from xlpipeline.web.guard import Guard, same
from xlpipeline.web.jobs import Busy
from xlpipeline.web.state import State

HERE = Path(__file__).resolve().parent
MAX_FILES = 2000   # files in one upload (a roll-up of several hundred units, with their .eml)
PAGES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                    trim_blocks=True, lstrip_blocks=True)


def create_app(state: State, on_quit=None) -> Guard:
    from xlpipeline.web import calendar, collecting, results, sending, workbook, wpsapi  # the pages
    routes = [Route("/", lambda r: RedirectResponse("/score" if state.workbook else "/workbook", 303)),
              Route("/api/ping", lambda r: JSONResponse({"app": "xlpipeline", "version": __version__})),
              Route("/api/jobs/{job_id}", job_json), Route("/jobs/{job_id}", job_page),
              Route("/download/{key}", download), Route("/quit", quit_server, methods=["POST"]),
              *workbook.routes, *results.routes, *calendar.routes, *sending.routes, *collecting.routes,
              *wpsapi.routes,
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, MultiPartException: bad_form})
    app.state.xlp = state
    app.state.quit = on_quit
    return Guard(app, state.token, state.port, wps_token=state.wps_token)


def st(request: Request) -> State:
    return request.app.state.xlp


def page(request: Request, template: str, status: int = 200, **values) -> HTMLResponse:
    state = st(request)
    body = PAGES.get_template(template).render(
        state=state, csrf=state.csrf, flashes=state.take_flashes(), path=request.url.path,
        workbook_name=state.workbook.name if state.workbook else None, version=__version__, **values)
    return HTMLResponse(body, status)


async def posted(request: Request):
    """The form of a POST, once its CSRF token is checked (the cookie alone is not enough)."""
    form = await request.form(max_files=MAX_FILES, max_fields=100)
    if not same(form.get("csrf") if isinstance(form.get("csrf"), str) else None, st(request).csrf):
        raise HTTPException(403, "拒绝：表单缺少有效的校验码（CSRF）。请刷新页面后重试。")
    return form


def back(request: Request, to: str, kind: str = "", text: str = "") -> RedirectResponse:
    if text:
        st(request).flash(kind, text)
    return RedirectResponse(to, 303)


def start_job(request: Request, kind: str, key: str, title: str, work) -> RedirectResponse:
    try:
        job = st(request).jobs.start(kind, key, title, work)
    except Busy as busy:
        if busy.job.id:
            return back(request, f"/jobs/{busy.job.id}", "info", f"“{busy.job.title}”正在进行，请等它完成")
        return back(request, request.url.path, "error", "另一项操作正在进行，请稍候再试")
    return RedirectResponse(f"/jobs/{job.id}", 303)


def need_workbook(request: Request) -> Path:
    workbook = st(request).workbook
    if workbook is None:
        raise HTTPException(409, "请先在“工作簿”页选择一个工作簿。")
    return workbook


async def job_json(request: Request) -> JSONResponse:
    job = st(request).jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPException(404, "没有这项操作（服务重启后，之前的操作记录不再保留）。")
    return JSONResponse(job.to_json())


async def job_page(request: Request) -> HTMLResponse:
    job = st(request).jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPException(404, "没有这项操作（服务重启后，之前的操作记录不再保留）。")
    return page(request, f"job_{job.kind}.html.j2", job=job, result=job.result)


async def download(request: Request) -> Response:
    found = st(request).download(request.path_params["key"])
    if found is None or not found.path.is_file():
        raise HTTPException(404, "没有这个文件：下载链接只在生成它的这次运行中有效，请重新生成。")
    inline = request.query_params.get("inline") == "1" and found.media in ("image/png", "application/pdf")
    return FileResponse(found.path, media_type=found.media, filename=found.name,
                        content_disposition_type="inline" if inline else "attachment")


async def quit_server(request: Request) -> HTMLResponse:
    await posted(request)
    if request.app.state.quit:
        request.app.state.quit()
    return page(request, "quit.html.j2")


async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
    return page(request, "error.html.j2", exc.status_code, message=exc.detail)


async def bad_form(request: Request, exc: MultiPartException) -> HTMLResponse:
    return page(request, "error.html.j2", 400, message=f"上传的表单无法读取：{exc.message}")
