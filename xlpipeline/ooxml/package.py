"""Checks on an .xlsx/.xlsm package before anything reads it, and safe reading of its parts.

A workbook comes from a colleague's computer or an email: it may be an old .xls, an encrypted
file, a damaged zip, a zip bomb, or carry XML entity tricks. Each is refused with a clear message
before calamine or lxml touch it.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from lxml import etree

from xlpipeline.errors import FileProblem

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and encrypted .xlsx are OLE compound files
MAX_PARTS = 10_000
MAX_PART_SIZE = 512 * 2**20       # uncompressed bytes of one part
MAX_TOTAL_SIZE = 2 * 2**30        # uncompressed bytes of all parts
MAX_RATIO = 250                   # uncompressed/compressed, for parts over RATIO_FLOOR
RATIO_FLOOR = 2**20


def check_workbook_file(path: Path) -> None:
    """Refuse anything that is not a sane, unencrypted, transitional .xlsx/.xlsm package."""
    if not path.exists():
        raise FileProblem(f"{path}: 文件不存在")
    if path.is_dir():
        raise FileProblem(f"{path}: 这是一个文件夹，不是工作簿")
    if _is_ole(path):
        raise FileProblem(f"{path}: {_ole_kind(path)}")
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise FileProblem(f"{path}: 不是 Excel 工作簿（.xlsx/.xlsm）")
    if not zipfile.is_zipfile(path):
        raise FileProblem(f"{path}: 文件已损坏或不是 Excel 工作簿（不是有效的 .xlsx 压缩包）")
    try:
        with zipfile.ZipFile(path) as package:
            check_sizes(package, path.name)
            if "xl/workbook.xml" not in package.namelist():
                raise FileProblem(f"{path}: 不是 Excel 工作簿（缺少 xl/workbook.xml）")
            book = parse_xml(read_part(package, "xl/workbook.xml"), "xl/workbook.xml")
    except zipfile.BadZipFile as exc:
        raise FileProblem(f"{path}: 文件已损坏：{exc}") from None
    if etree.QName(book).namespace == STRICT_NS:
        raise FileProblem(f"{path}: 是 Strict Open XML 格式，本程序不支持；请在 Excel 中另存为“Excel 工作簿(*.xlsx)”")


def _is_ole(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(OLE_SIGNATURE)) == OLE_SIGNATURE


def _ole_kind(path: Path) -> str:
    import olefile  # only for the rare file that is not a zip: an .xls or an encrypted workbook
    with olefile.OleFileIO(str(path)) as ole:
        if ole.exists("EncryptionInfo"):
            return "工作簿已加密（设置了打开密码），请先在 Excel/WPS 中取消密码再使用"
    return "这是旧版 .xls 格式的文件，请在 Excel/WPS 中另存为“Excel 工作簿(*.xlsx)”"


def check_sizes(package: zipfile.ZipFile, name: str) -> None:
    """Declared sizes within limits: a zip bomb is refused before any part is inflated."""
    infos = package.infolist()
    if len(infos) > MAX_PARTS:
        raise FileProblem(f"{name}: 压缩包内部件过多（{len(infos)} 个），不像正常的工作簿")
    total = 0
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_PART_SIZE or (info.file_size > RATIO_FLOOR and ratio > MAX_RATIO):
            raise FileProblem(f"{name}: 部件 {info.filename} 解压后过大（{info.file_size} 字节），可能是压缩炸弹，已拒绝")
        total += info.file_size
    if total > MAX_TOTAL_SIZE:
        raise FileProblem(f"{name}: 解压后总大小 {total} 字节超过上限，可能是压缩炸弹，已拒绝")


def read_part(package: zipfile.ZipFile, part: str) -> bytes:
    """A part's bytes; zipfile stops at the declared size and checks the CRC, so a part that
    inflates to more than it declares is an error, not a flood."""
    try:
        return package.read(part)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileProblem(f"{part}: 压缩包损坏：{exc}") from None


# A part with a DTD (the only place entities can be declared) is refused before parsing: the markup
# cannot occur in a part's text, where "<" is always escaped. The parser, too, never expands
# entities and never loads or fetches a DTD. One parse, where defusedxml would add a second.
DTD_MARKERS = tuple(m.encode(e) for m in ("<!DOCTYPE", "<!ENTITY") for e in ("utf-8", "utf-16-le", "utf-16-be"))
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def parse_xml(data: bytes, part: str) -> etree._Element:
    """Parse a part for editing with lxml; refuse DTDs and with them any entity declaration."""
    refused = FileProblem(f"{part}: 含有 DTD 或实体声明（正常工作簿不会有），已拒绝处理")
    if any(marker in data for marker in DTD_MARKERS):
        raise refused
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as exc:
        raise FileProblem(f"{part}: XML 损坏：{exc}") from None
    if root.getroottree().docinfo.doctype:  # a spelling the markers missed: never parsed further
        raise refused
    return root
