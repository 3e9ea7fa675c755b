"""工作簿: choose the working workbook where it lies (a folder view whose entries are ids, never
paths from the page), upload a copy (its results come back as a download), or make a new one."""
from __future__ import annotations

import shutil
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from xlpipeline.create import init_workbook
from xlpipeline.errors import FileProblem, UserError
from xlpipeline.ooxml.package import WORKBOOK_SUFFIXES, not_a_workbook
from xlpipeline.outputs.render import inside, safe_name
from xlpipeline.pipeline import review
from xlpipeline.rules import available_years, load_rules
from xlpipeline.workbook.book import FileBook
from xlpipeline.web.app import back, page, posted, st
from xlpipeline.web.state import recent


def is_workbook(path: Path) -> bool:
    name = path.name
    return path.suffix.lower() in WORKBOOK_SUFFIXES and not name.startswith(("~$", ".~lock", "."))


async def choose_page(request: Request):
    state = st(request)
    folder = state.place_of(request.query_params.get("dir", "")) or state.start
    folders, workbooks, problem = [], [], ""
    try:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                folders.append({"name": entry.name, "key": state.place(entry)})
            elif entry.is_file() and is_workbook(entry):
                workbooks.append({"name": entry.name, "key": state.place(entry)})
    except OSError as exc:
        problem = f"无法读取文件夹 {folder}：{exc.strerror or exc}"
    parent = folder.parent if folder.parent != folder else None
    return page(request, "workbook.html.j2", folder=str(folder), folder_key=state.place(folder),
                parent_key=state.place(parent) if parent else None, folders=folders, workbooks=workbooks,
                recent=[{"name": p.name, "folder": str(p.parent), "key": state.place(p)} for p in recent()],
                problem=problem, years=sorted(available_years(), reverse=True))


async def open_workbook(request: Request):
    form = await posted(request)
    path = st(request).place_of(str(form.get("place", "")))
    if path is None or not path.is_file() or not is_workbook(path):
        raise HTTPException(404, "没有这个工作簿，请在文件夹中重新选择。")
    st(request).choose(path)
    return back(request, "/score")


async def upload_copy(request: Request):
    form = await posted(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return back(request, "/workbook", "error", "请选择一个工作簿文件（.xlsx 或 .xlsm）。")
    name = safe_name(Path(upload.filename.replace("\\", "/")).name)
    problem = not_a_workbook(name)  # told before the upload is saved: the gate would name a scratch path
    if problem:
        return back(request, "/workbook", "error", f"“{name}”{problem}。")
    folder = st(request).work_folder("upload")
    path = inside(folder, name, set())
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out)
    try:
        review(FileBook(path))  # the package gate and the sheets, as the command line checks them
    except UserError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return back(request, "/workbook", "error", str(exc))
    st(request).choose(path, copy=True)
    return back(request, "/score", "info", f"已上传“{name}”的副本：计分结果写入副本，请在本页下载。")


async def new_workbook(request: Request):
    form = await posted(request)
    folder = st(request).place_of(str(form.get("folder", "")))
    if folder is None or not folder.is_dir():
        raise HTTPException(404, "没有这个文件夹，请重新选择。")
    try:
        year = int(str(form.get("year", "")))
        rules = load_rules(year)
    except ValueError:
        return back(request, "/workbook", "error", "请选择考评年度。")
    except UserError as exc:
        return back(request, "/workbook", "error", str(exc))
    unit = str(form.get("unit", "")).strip() or "市散墙办"
    stem = safe_name(str(form.get("name", "")).strip().removesuffix(".xlsx") or f"{year}考评")
    try:
        path = inside(folder, f"{stem}.xlsx", set())
        if path.exists():  # said in the page's words (the command line's mention --force)
            return back(request, f"/workbook?dir={st(request).place(folder)}", "error",
                        f"这个文件夹里已有“{path.name}”：请换一个文件名，或在上面的列表中直接打开它。")
        init_workbook(path, rules, unit)
    except (FileProblem, OSError) as exc:
        return back(request, f"/workbook?dir={st(request).place(folder)}", "error",
                    str(exc) if isinstance(exc, UserError) else f"无法写入 {folder}：{exc.strerror}")
    st(request).choose(path)
    return back(request, "/score", "info", f"已新建 {path}")


routes = [Route("/workbook", choose_page), Route("/workbook/open", open_workbook, methods=["POST"]),
          Route("/workbook/upload", upload_copy, methods=["POST"]),
          Route("/workbook/new", new_workbook, methods=["POST"])]
