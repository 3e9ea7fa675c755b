"""`xlpipeline addin build|install`: the 模范机关考评 add-in (.xlam) for Excel on Windows.

Building drives Excel through xlwings (as its docs describe for a custom add-in): a new workbook
gets our VBA callbacks, xlwings' own VBA module and the wrappers of our worksheet functions
(xlwings' `import_udfs`), an `xlwings.conf` sheet with every setting, and is saved as an add-in;
then the ribbon (customUI14.xml) and its relationship are added to the saved package, which Excel
cannot do itself. Installing copies it into Excel's XLSTART folder. Elsewhere both commands
explain in one line that Excel on Windows is needed.
"""
from __future__ import annotations

import os
import re
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

UDF_MODULE = "xlpipeline.excel.udfs"
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
        import xlwings.udfs  # noqa: F401 (Windows only: it needs pywin32)
    except ImportError:
        raise UserError(NEEDS_EXCEL) from None
    return xw


CONFIG_CALL = re.compile(r'GetConfig\("([^"]+)"')
SUPPORTED = ((0, 30), (0, 38))  # xlwings versions whose VBA this build was checked against: [from, to)


def addin_settings(python: str, xlwings_bas: Path) -> list[list[str]]:
    """Every key xlwings' VBA reads (each `GetConfig("…")` of the xlwings.bas being imported), set in
    the add-in's `xlwings.conf` sheet. xlwings reads that sheet through ThisWorkbook (the add-in)
    first and falls through to the user's own %USERPROFILE%\\.xlwings\\xlwings.conf for a key the
    sheet leaves out: leaving none out keeps a user's settings for other projects out of ours (a
    SHOW_ERROR_POPUPS=False there would hide every error). A key we have no value for fails the build."""
    windowless = Path(python).with_name("pythonw.exe")
    interpreter = str(windowless if windowless.exists() else python)
    ours = {"INTERPRETER_WIN": interpreter, "INTERPRETER": interpreter, "INTERPRETER_MAC": "",
            "UDF MODULES": UDF_MODULE, "PYTHONPATH": "",
            "ADD_WORKBOOK_TO_PYTHONPATH": "False",  # a user's folder must not shadow our modules
            "USE UDF SERVER": "False", "DEBUG UDFS": "False", "SHOW CONSOLE": "False", "CONDA PATH": "", "CONDA ENV": "",
            "SHOW_ERROR_POPUPS": "True",  # errors in a message box, never on a sheet of the hidden add-in
            "TEMP DIR": "%TEMP%",  # xlwings expands it; an empty value would break every button
            "LICENSE_KEY": "", "ONEDRIVE_CONSUMER_WIN": "", "ONEDRIVE_COMMERCIAL_WIN": "", "SHAREPOINT_WIN": "",
            "ONEDRIVE_CONSUMER_MAC": "", "ONEDRIVE_COMMERCIAL_MAC": "", "SHAREPOINT_MAC": ""}
    keys = list(dict.fromkeys(k.upper() for k in CONFIG_CALL.findall(xlwings_bas.read_text(encoding="utf-8",
                                                                                              errors="replace"))))
    unknown = [k for k in keys if k not in ours]
    if unknown:
        raise UserError(f"此版本 xlwings 的 VBA 读取了本程序不认识的设置 {'、'.join(unknown)}：请安装本程序支持的 xlwings"
                        f"（{_supported()}），或升级本程序")
    return [[key, ours[key]] for key in keys]


def _supported() -> str:
    (a, b), (c, d) = SUPPORTED
    return f"xlwings>={a}.{b},<{c}.{d}"


def check_xlwings(xw, python: Path) -> None:
    """Refuse, before Excel starts, an xlwings outside the versions this build knows, or one whose DLL
    the VBA will not find: XLPyLoadDLL looks beside INTERPRETER_WIN and one folder up only (a pip
    "--user" install puts it elsewhere; every XLP_ cell would then show “Could not load …dll”)."""
    version = str(getattr(xw, "__version__", "0"))
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    if not SUPPORTED[0] <= numbers < SUPPORTED[1]:
        raise UserError(f"本程序的 Excel 加载项支持 {_supported()}，已安装的是 {version}：请运行 "
                        f"pip install \"{_supported()}\" 后再生成")
    names = [f"xlwings64-{version}.dll", f"xlwings32-{version}.dll"]
    places = [python.parent, python.parent.parent]
    if not any((place / name).exists() for place in places for name in names):
        raise UserError(f"找不到 xlwings 的 {names[0]}：工作表函数（XLP_…）需要它，而 xlwings 只在 {places[0]} 和 "
                        f"{places[1]} 中找。请在这个 Python 中重新安装 xlwings（不要加 --user）：{python} -m pip install "
                        "--force-reinstall xlwings，再运行 xlpipeline addin install")


def build_addin(out: Path, xw=None, python: Path | None = None) -> Path:
    """Build the add-in with Excel (`xw`: the xlwings module, or a stand-in in tests; `python`: the
    interpreter the add-in will start, by default this one)."""
    xw = xw or _excel()
    python = python or Path(sys.executable)
    package = Path(xw.__file__).parent
    modules = [package / "xlwings.bas", package / "addin" / "Dictionary.cls", RIBBON_VBA]
    missing = [m for m in modules if not m.exists()]
    if missing:  # without them every button fails with "Sub or Function not defined"
        raise UserError(f"找不到 {missing[0]}：请重新安装 xlwings（pip install --force-reinstall xlwings）后再运行")
    check_xlwings(xw, python)
    settings = addin_settings(str(python), package / "xlwings.bas")
    saved = out.with_suffix(".tmp.xlam")
    saved.unlink(missing_ok=True)  # else Excel's hidden "replace?" question hangs the build
    app = xw.App(visible=False, add_book=False)
    try:
        app.display_alerts = False
        book = app.books.add()
        try:
            components = book.api.VBProject.VBComponents
        except Exception:
            raise UserError("Excel 不允许访问 VBA 工程：请在 文件 → 选项 → 信任中心 → 信任中心设置 → 宏设置 中"
                            "勾选“信任对 VBA 工程对象模型的访问”，然后再运行") from None
        for module in modules:
            components.Import(str(module))
        conf = book.sheets[0]
        conf.name = "xlwings.conf"
        conf.range((1, 1), (len(settings), 2)).value = settings
        # the UDF wrappers live in the add-in itself, so =XLP_TOTAL() works in any open workbook
        xw.udfs.import_udfs(UDF_MODULE, book.api)
        out.parent.mkdir(parents=True, exist_ok=True)
        book.api.SaveAs(str(saved.resolve()), FileFormat=XL_OPENXML_ADDIN)
        book.close()
    finally:
        app.quit()
    with open(saved, "rb") as source, open(out, "wb") as target:
        add_custom_ui(source, target, CUSTOM_UI.read_bytes())
    saved.unlink()
    return out


def startup_folder() -> Path:
    """Excel's XLSTART folder of this user: Excel opens what is there at every start, and it is a
    trusted location by default (xlwings installs its own add-in there too)."""
    return Path(os.environ["APPDATA"]) / "Microsoft" / "Excel" / "XLSTART"


def install_addin(built: Path) -> Path:
    _excel()
    folder = startup_folder()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / built.name
    try:
        shutil.copyfile(built, target)
    except PermissionError:  # Windows: a running Excel holds the add-in it loaded from XLSTART
        raise UserError(f"Excel 正在使用已安装的加载项（{target}）：请先关闭所有 Excel 窗口，"
                        "再运行 xlpipeline addin install") from None
    return target
