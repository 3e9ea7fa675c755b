"""`xlpipeline addin build|install`: the 模范机关考评 add-in (.xlam) for Excel on Windows.

Building drives Excel through xlwings: a new workbook gets our VBA callbacks and xlwings' own VBA
module, an `xlwings.conf` sheet naming this Python, and is saved as an add-in; then the ribbon
(customUI14.xml) and its relationship are added to the saved package, which Excel cannot do
itself. Elsewhere both commands explain in one line that Excel on Windows is needed.
"""
from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from xlpipeline.errors import UserError
from xlpipeline.ooxml.parts import PKG_REL_NS, serialize
from xlpipeline.ooxml.package import check_sizes, parse_xml, read_part
from xlpipeline.resources import CUSTOM_UI, RIBBON_VBA
from xlpipeline.ooxml.zipwrite import rewrite_package

UI_PART = "customUI/customUI14.xml"
UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
XL_OPENXML_ADDIN = 55  # XlFileFormat.xlOpenXMLAddIn
NEEDS_EXCEL = "需要 Windows 上的 Microsoft Excel（和 pip install \"xlpipeline[excel]\"）；WPS 和其他系统请用命令行"


def add_custom_ui(source: BinaryIO, out: BinaryIO, custom_ui: bytes) -> None:
    """Copy a package, adding (or replacing) its ribbon part and the package relationship to it."""
    parse_xml(custom_ui, UI_PART)  # refuse a malformed ribbon before touching anything
    with zipfile.ZipFile(source) as package:
        check_sizes(package, "加载项")
        rels = parse_xml(read_part(package, "_rels/.rels"), "_rels/.rels")
        added: dict[str, bytes] = {}
        if not any(r.get("Type") == UI_REL for r in rels):
            ids = {r.get("Id") for r in rels}
            free = next(f"rIdXlpUI{n}" for n in range(1, 100) if f"rIdXlpUI{n}" not in ids)
            etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id=free, Type=UI_REL, Target=UI_PART)
        changed = {"_rels/.rels": serialize(rels)}
        if UI_PART in package.namelist():
            changed[UI_PART] = custom_ui
        else:
            added[UI_PART] = custom_ui
        rewrite_package(source, package, out, changed, added)


def _excel():
    if os.name != "nt":
        raise UserError(NEEDS_EXCEL)
    try:
        import xlwings as xw
    except ImportError:
        raise UserError(NEEDS_EXCEL) from None
    return xw


def build_addin(out: Path) -> Path:
    xw = _excel()
    vba_module = Path(xw.__file__).parent / "xlwings.bas"
    dictionary = Path(xw.__file__).parent / "addin" / "Dictionary.cls"
    app = xw.App(visible=False, add_book=False)
    try:
        book = app.books.add()
        try:
            components = book.api.VBProject.VBComponents
        except Exception:
            raise UserError("Excel 不允许访问 VBA 工程：请在 文件 → 选项 → 信任中心 → 信任中心设置 → 宏设置 中"
                            "勾选“信任对 VBA 工程对象模型的访问”，然后再运行") from None
        for module in (vba_module, dictionary, RIBBON_VBA):
            if module.exists():
                components.Import(str(module))
        conf = book.sheets[0]
        conf.name = "xlwings.conf"
        conf.range("A1:B2").value = [["Interpreter_Win", sys.executable], ["UDF Modules", "xlpipeline.excel.udfs"]]
        out.parent.mkdir(parents=True, exist_ok=True)
        saved = out.with_suffix(".tmp.xlam")
        book.api.SaveAs(str(saved.resolve()), FileFormat=XL_OPENXML_ADDIN)
        book.close()
    finally:
        app.quit()
    with open(saved, "rb") as source, open(out, "wb") as target:
        add_custom_ui(source, target, CUSTOM_UI.read_bytes())
    saved.unlink()
    return out


def install_addin(built: Path) -> Path:
    xw = _excel()
    folder = Path(os.environ["APPDATA"]) / "Microsoft" / "AddIns"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / built.name
    shutil.copyfile(built, target)
    app = xw.App(visible=False, add_book=False)
    try:
        app.books.add()  # Excel lists add-ins only with a workbook open
        app.api.AddIns.Add(str(target)).Installed = True
    finally:
        app.quit()
    return target
