"""Checks on an .xlsx/.xlsm package before anything reads it, and safe reading of its parts.

A workbook comes from a colleague's computer or an email: it may be an old .xls, an encrypted
file, a damaged zip, a zip bomb, or carry XML entity tricks. Each is refused with a clear message
before calamine or lxml touch it.
"""
from __future__ import annotations

import struct
import zipfile
import zlib
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from lxml import etree

from xlpipeline.errors import FileProblem

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
CONTENT_TYPES = "[Content_Types].xml"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
# the workbook part of an .xlsx, .xlsm, .xltx or .xltm
WORKBOOK_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.", "application/vnd.ms-excel.")
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
# general-purpose flags no Office application writes, each refused (zipfile cannot read them either)
ENCRYPTED, PATCHED_DATA, STRONG_ENCRYPTION = 0x1, 0x20, 0x40
REFUSED_FLAGS = ENCRYPTED | PATCHED_DATA | STRONG_ENCRYPTION
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and encrypted .xlsx are OLE compound files
MAX_PARTS = 10_000
MAX_PART_SIZE = 512 * 2**20       # uncompressed bytes of one part
MAX_TOTAL_SIZE = 2 * 2**30        # uncompressed bytes of all parts
MAX_RATIO = 250                   # uncompressed/compressed, for parts over RATIO_FLOOR
RATIO_FLOOR = 2**20
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what Excel, WPS and LibreOffice write
XML_SUFFIXES = (".xml", ".rels", ".vml")
CHUNK = 4 * 2**20
# a member's local header: signature, version, flags, method, time, date, CRC, sizes, name and extra lengths
LOCAL_HEADER = struct.Struct("<4s5H3L2H")


SAVE_AS_FIRST = (".ods", ".et", ".xls", ".csv", ".xlsb")  # other spreadsheets: WPS, Excel or LibreOffice convert them


def not_a_workbook(name: str) -> str | None:
    """Why a file of this name is no workbook we read (its extension), with how to make one of it;
    None when it is one."""
    suffix = Path(name).suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return None
    hint = "：请在 WPS、Excel 或 LibreOffice 中打开，另存为 .xlsx 后再用" if suffix in SAVE_AS_FIRST else ""
    return f"不是 Excel 工作簿（.xlsx/.xlsm）{hint}"


def check_workbook_file(path: Path) -> None:
    """Refuse anything that is not a sane, unencrypted, transitional .xlsx/.xlsm package."""
    with checked_package(path):
        pass


@contextmanager
def checked_package(path: Path) -> Iterator[zipfile.ZipFile]:
    """The workbook's package, open, once it has passed every check of `check_workbook_file`."""
    if not path.exists():
        raise FileProblem(f"{path}: 文件不存在")
    if path.is_dir():
        raise FileProblem(f"{path}: 这是一个文件夹，不是工作簿")
    if _is_ole(path):
        raise FileProblem(f"{path}: {_ole_kind(path)}")
    problem = not_a_workbook(path.name)
    if problem:
        raise FileProblem(f"{path}: {problem}")
    if not zipfile.is_zipfile(path):
        raise FileProblem(f"{path}: 文件已损坏或不是 Excel 工作簿（不是有效的 .xlsx 压缩包）")
    with open(path, "rb") as raw:
        package = _checked_zip(path, raw)
        with package:
            yield package


def _checked_zip(path: Path, raw: BinaryIO) -> zipfile.ZipFile:
    try:
        package = zipfile.ZipFile(raw)
        check_members(package, path.name)
        check_parts(raw, package, path.name)
        if "xl/workbook.xml" not in package.namelist():
            raise FileProblem(f"{path}: 不是 Excel 工作簿（缺少 xl/workbook.xml）")
        check_entry(package, path.name)
        _check_namespace(path, package)
        return package
    except zipfile.BadZipFile as exc:
        raise FileProblem(f"{path}: 文件已损坏：{exc}") from None
    except NotImplementedError as exc:  # a zip feature no spreadsheet application writes
        raise FileProblem(f"{path}: 压缩包使用了不支持的格式（{exc}）；请用 Excel/WPS 打开后另存为 .xlsx 再试") from None
    except UnicodeDecodeError:  # a name flagged as UTF-8 that is not: zipfile fails while opening
        raise FileProblem(f"{path}: 文件已损坏：压缩包内的部件名不是有效的 UTF-8 编码") from None


def _check_namespace(path: Path, package: zipfile.ZipFile) -> None:
    book = parse_xml(read_part(package, "xl/workbook.xml"), "xl/workbook.xml")
    namespace = etree.QName(book).namespace
    if namespace == STRICT_NS:
        raise FileProblem(f"{path}: 是 Strict Open XML 格式，本程序不支持；请在 Excel 中另存为“Excel 工作簿(*.xlsx)”")
    if namespace != MAIN_NS:  # an Office 2007 beta file, or not a workbook at all
        raise FileProblem(f"{path}: 不是可识别的 Excel 工作簿格式（xl/workbook.xml 的命名空间为“{namespace}”，"
                          "可能是测试版 Office 保存的文件）；请用 Excel/WPS 打开后另存为“Excel 工作簿(*.xlsx)”")


def check_entry(package: zipfile.ZipFile, name: str) -> None:
    """The two parts every application opens first: _rels/.rels names xl/workbook.xml as the
    document, and [Content_Types].xml gives it a workbook's content type. Where either is damaged,
    Excel repairs or refuses the file and LibreOffice cannot open it (nor what we would save)."""
    damaged = f"{name}: 文件已损坏（{{}}）；请用 Excel/WPS 打开修复后另存"
    rels = parse_xml(read_part(package, "_rels/.rels"), "_rels/.rels")
    if not any(r.get("Type") == OFFICE_DOCUMENT and (r.get("Target") or "").lstrip("/") == "xl/workbook.xml"
               for r in rels.iter(f"{{{PKG_REL_NS}}}Relationship")):
        raise FileProblem(damaged.format("_rels/.rels 没有指向 xl/workbook.xml"))
    kind = content_type(parse_xml(read_part(package, CONTENT_TYPES), CONTENT_TYPES), "xl/workbook.xml")
    if not kind.startswith(WORKBOOK_TYPES):
        raise FileProblem(damaged.format(f"{CONTENT_TYPES} 中 xl/workbook.xml 的类型“{kind[:60]}”不是工作簿"))


def content_type(types: etree._Element, part: str) -> str:
    """A part's content type: its Override, else the Default for its extension ("" for none)."""
    for override in types.iter(f"{{{CT_NS}}}Override"):
        if (override.get("PartName") or "").lower() == "/" + part.lower():
            return override.get("ContentType") or ""
    extension = part.rpartition(".")[2].lower()
    for default in types.iter(f"{{{CT_NS}}}Default"):
        if (default.get("Extension") or "").lower() == extension:
            return default.get("ContentType") or ""
    return ""


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


def check_members(package: zipfile.ZipFile, name: str) -> None:
    """Member names, methods and flags as Excel, WPS and LibreOffice write them, and sizes in bounds."""
    check_sizes(package, name)
    resave = "请用 Excel/WPS 打开后另存为 .xlsx 再试"
    for info in package.infolist():
        if "\\" in info.filename:
            raise FileProblem(f"{name}: 压缩包内的部件名“{info.filename}”使用了反斜杠，不是 Excel/WPS 保存的文件；{resave}")
        if info.flag_bits & (ENCRYPTED | STRONG_ENCRYPTION):
            raise FileProblem(f"{name}: 压缩包内的部件 {info.filename} 已加密，无法读取；{resave}")
        if info.compress_type not in METHODS or info.flag_bits & PATCHED_DATA:
            raise FileProblem(f"{name}: 部件 {info.filename} 使用了不支持的压缩方式（{info.compress_type}）；{resave}")
    twice = [n for n, count in Counter(i.filename.lower() for i in package.infolist()).items() if count > 1]
    if twice:
        raise FileProblem(f"{name}: 压缩包内有重名的部件（{twice[0]}，不区分大小写），文件已损坏或被篡改")


def check_parts(raw: BinaryIO, package: zipfile.ZipFile, name: str) -> None:
    """Each member's local header agrees with the central directory (readers that trust one or the
    other must see the same package), its data inflates to the declared size and CRC (a part we copy
    unread must be intact too), and no XML part declares a DTD. Inflated in bounded chunks straight
    from the file: a large sheet is never held in memory, and a small one costs no zipfile reader."""
    for info in package.infolist():
        start = _local_header(raw, info)
        if start is None:
            raise FileProblem(f"{name}: 部件 {info.filename} 的本地文件头与目录不一致，压缩包已损坏或被篡改")
        xml = info.filename.lower().endswith(XML_SUFFIXES)
        crc, size, tail = 0, 0, b""
        try:
            for piece in _inflated(raw, info, start):
                crc, size = zlib.crc32(piece, crc), size + len(piece)
                if size > info.file_size:
                    raise zlib.error("解压后大于目录所记大小")
                if xml and has_dtd(tail + piece):
                    raise FileProblem(f"{name}: 部件 {info.filename} 含有 DTD 或实体声明（正常工作簿不会有），已拒绝处理")
                tail = piece[-DTD_OVERLAP:]
            if (crc, size) != (info.CRC, info.file_size):
                raise zlib.error("大小或 CRC 校验值与目录不符")
        except (zlib.error, EOFError) as exc:
            raise FileProblem(f"{name}: 部件 {info.filename} 已损坏，无法解压（{exc}）") from None


def _local_header(raw: BinaryIO, info: zipfile.ZipInfo) -> int | None:
    """Where the member's data starts, or None when its local header disagrees with the directory."""
    if info.header_offset < 0:  # a damaged directory can place a header before the file's start
        return None
    raw.seek(info.header_offset)
    head = raw.read(LOCAL_HEADER.size)
    if len(head) != LOCAL_HEADER.size:
        return None
    signature, _, flags, method, _, _, crc, packed, size, name_length, extra_length = LOCAL_HEADER.unpack(head)
    stored = raw.read(name_length)
    sizes = flags & 0x8 or (crc, packed, size) == (info.CRC, info.compress_size, info.file_size) or (
        0xFFFFFFFF in (packed, size))  # sizes in a data descriptor or a zip64 field
    if signature == b"PK\x03\x04" and method == info.compress_type and flags & REFUSED_FLAGS == 0 and sizes \
            and stored == _raw_name(info):
        return info.header_offset + LOCAL_HEADER.size + name_length + extra_length
    return None


def _inflated(raw: BinaryIO, info: zipfile.ZipInfo, start: int):
    """A member's data in pieces of at most CHUNK bytes (stored or deflated: the gate allows no other)."""
    raw.seek(start)
    inflate = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left = info.compress_size
    while left:
        chunk = raw.read(min(CHUNK, left))
        if not chunk:
            raise EOFError("数据不完整")
        left -= len(chunk)
        if inflate is None:
            yield chunk
            continue
        while chunk:
            yield inflate.decompress(chunk, CHUNK)
            chunk = inflate.unconsumed_tail
    if inflate is not None:
        while piece := inflate.decompress(b"", CHUNK):  # output zlib still holds
            yield piece
        if not inflate.eof:
            raise EOFError("压缩数据不完整")


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


def read_part(package: zipfile.ZipFile, part: str) -> bytes:
    """A part's bytes; zipfile stops at the declared size and checks the CRC, so a part that
    inflates to more than it declares is an error, not a flood."""
    try:
        return package.read(part)
    except KeyError:
        raise FileProblem(f"{part}: 工作簿缺少这个部件（文件已损坏）") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileProblem(f"{part}: 压缩包损坏：{exc}") from None


# A part with a DTD (the only place entities can be declared) is refused before parsing: the markup
# cannot occur in a part's text, where "<" is always escaped. The parser, too, never expands
# entities and never loads or fetches a DTD. One parse, where defusedxml would add a second.
DTD_MARKERS = tuple(m.encode(e) for m in ("<!DOCTYPE", "<!ENTITY") for e in ("utf-8", "utf-16-le", "utf-16-be"))
DTD_OVERLAP = max(map(len, DTD_MARKERS))
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def has_dtd(data: bytes) -> bool:
    # every marker holds "!": one fast scan for a byte settles most parts
    return b"!" in data and any(marker in data for marker in DTD_MARKERS)


def parse_xml(data: bytes, part: str) -> etree._Element:
    """Parse a part for editing with lxml; refuse DTDs and with them any entity declaration."""
    refused = FileProblem(f"{part}: 含有 DTD 或实体声明（正常工作簿不会有），已拒绝处理")
    if has_dtd(data):
        raise refused
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as exc:
        raise FileProblem(f"{part}: XML 损坏：{exc}") from None
    if root.getroottree().docinfo.doctype:  # a spelling the markers missed: never parsed further
        raise refused
    return root
