"""The ribbon's buttons. Each is `RunPython "import xlpipeline.excel.entry as e; e.<name>()"` in the
VBA callbacks; each calls the same library function as the command line, on the calling workbook.
`book` is for tests and scripts: by default it is the workbook whose button was pressed."""
from __future__ import annotations

from pathlib import Path

from xlpipeline.scoring.engine import money
from xlpipeline.errors import InputErrors, UserError
from xlpipeline.excel.adapter import ExcelBook
from xlpipeline.scoring.ledger import read_book
from xlpipeline.mail import SendOptions, advice, send_book, summary_table
from xlpipeline.outputs.render import batch, submit
from xlpipeline.pipeline import score_book

SHOWN = 20  # problems listed in a message box; the rest are counted
RIBBON_HINTS = {"resend": "在本机网页（模范机关考评图标）的“发送”页勾选“我已核实”后重发",
                "again": "再点一次“发送考评单位”即可重发"}  # in the words of the ribbon, not the command line


def workbook_meant(caller):
    """The workbook a button means. A button of the add-in is "called" from the .xlam: then it is
    the active workbook of the same Excel instance (`xw.books.active` would be the topmost
    instance's, which need not be the one whose ribbon was clicked). Excel's ActiveWorkbook is
    Nothing when only add-ins are open, and xlwings' `books.active` wraps that Nothing rather than
    returning None: so Excel's own object is asked first."""
    if not full_name(caller).lower().endswith(".xlam"):
        return caller
    app = caller.app
    if app.api.ActiveWorkbook is None:
        if getattr(app.api, "ActiveProtectedViewWindow", None) is not None:
            raise UserError("工作簿处于“受保护的视图”：请先点击黄色提示条上的“启用编辑”，再点按钮")
        raise UserError("没有打开的工作簿：请先打开考评工作簿，再点按钮")
    return app.books.active


def full_name(book) -> str:
    """The workbook's path. xlwings maps a OneDrive/SharePoint web address to the synced local file,
    or raises XlwingsError where it finds none: that is told as what to do, not as a traceback."""
    try:
        return book.fullname
    except Exception as exc:
        if type(exc).__name__ != "XlwingsError":
            raise
        raise UserError(f"工作簿“{book.name}”保存在 OneDrive/SharePoint 上，本机找不到它的同步文件夹：生成的文件要放在"
                        "它旁边，请让 OneDrive 把该文件夹同步到本机（或另存到本机文件夹），再点按钮") from None


def usable(book):
    """Refuse a workbook the buttons cannot work on: outputs go beside it, results into it."""
    if not Path(full_name(book)).is_absolute():
        raise UserError(f"工作簿“{book.name}”还没有保存：请先保存到一个文件夹（生成的文件放在它旁边），再点按钮")
    if book.api.ReadOnly:
        raise UserError(f"工作簿“{book.name}”是以只读方式打开的：请关闭后重新打开（或另存一份），再点按钮")
    return book


def _caller():
    import xlwings as xw  # only where Excel runs the button
    return xw.Book.caller()


def _guarded(action):
    """Run a button's action on the workbook meant; a user's mistake becomes a message box, never a
    traceback. `book` is for tests and scripts."""
    def run(book=None):
        caller = _caller() if book is None else None
        app = (book or caller).app
        try:
            excel = ExcelBook(usable(book if book is not None else workbook_meant(caller)))
            return action(excel)
        except UserError as exc:
            app.alert(_shorten(str(exc).splitlines()), title="模范机关考评：未完成")
            return None
    run.__name__ = action.__name__
    run.__doc__ = action.__doc__
    return run


def _shorten(lines: list[str]) -> str:
    more = f"\n……共 {len(lines)} 处" if len(lines) > SHOWN else ""
    return "\n".join(lines[:SHOWN]) + more


@_guarded
def recalculate(book: ExcelBook):
    """重新计算: score the workbook and write the results into it, as `xlpipeline score` does."""
    scored = score_book(book)
    results = scored.results
    book.alert(f"总分 {money(results.total)}（加分 {money(results.bonus)}）"
               + "".join(f"\n提示：{w}" for w in results.warnings), title="模范机关考评：已计算")
    return scored


@_guarded
def check_log(book: ExcelBook):
    """校验台账: colour and select the cells with mistakes, and list them."""
    try:
        read_book(book)
    except InputErrors as exc:
        by_sheet: dict[str, list[str]] = {}
        for sheet, ref, _ in exc.located():
            if sheet:
                by_sheet.setdefault(sheet, []).append(ref)
        for sheet, refs in by_sheet.items():
            book.mark(sheet, refs)
        book.alert(_shorten(exc.messages), title=f"模范机关考评：台账有 {len(exc.messages)} 处问题")
        return exc.messages
    book.alert("台账没有发现问题。", title="模范机关考评：校验通过")
    return []


@_guarded
def make_submit(book: ExcelBook):
    """生成附件: the filled 附件1 beside the workbook."""
    output = submit(book)
    book.alert(f"已生成：{output.path}", title="模范机关考评：生成附件")
    return output


def _batch_by(by: str):
    @_guarded
    def make(book: ExcelBook):
        outputs = batch(book, by, progress=False)
        folder = outputs[0].path.parent if outputs else book.path.parent
        book.alert(f"已生成 {len(outputs)} 个文件：{folder}", title=f"模范机关考评：按{by}生成")
        return outputs
    make.__name__ = f"make_batch_{by}"
    return make


make_batch_by_department = _batch_by("责任科室")
make_batch_by_leader = _batch_by("责任领导")
make_batch_by_assessor = _batch_by("考评单位")
make_batch_by_indicator = _batch_by("考评指标")


@_guarded
def send_to_assessors(book: ExcelBook):
    """发送考评单位: show who gets what first; send only after the user agrees."""
    preview = send_book(book, SendOptions(dry_run=True))
    answer = book.alert(summary_table(preview, dry_run=True) + "\n\n确定发送吗？", title="模范机关考评：发送预览",
                        buttons="ok_cancel")
    if answer != "ok":
        return preview
    done = send_book(book)
    book.alert("\n\n".join(filter(None, [summary_table(done, dry_run=False), advice(done, RIBBON_HINTS)])),
               title="模范机关考评：发送结果")
    return done
