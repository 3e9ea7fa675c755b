"""Hostile or broken files: each refused with a clear message, exit 2, nothing written."""
from __future__ import annotations

import contextlib
import io
import re
import shutil
import struct
import zipfile
from pathlib import Path

from msoffcrypto.format.ooxml import OOXMLFile
import pytest
from openpyxl import load_workbook

from xlpipeline.workbook.layout import PARAM_UNIT, PARAMS, param_cell

BOMB_DTD = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
                       for i in range(1, 10))
            + b"]>")


def with_bomb(xml: bytes) -> bytes:
    """The part behind a billion-laughs DTD, with the entity used in its first element's text."""
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    first_close = body.index(b">") + 1
    return BOMB_DTD + body[:first_close] + b"&lol9;" + body[first_close:]


def rezip(source, target, replace: dict[str, bytes] = None, add: dict[str, bytes] = None):
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info)))
        for name, data in add.items():
            zout.writestr(name, data)


def refused(cli, path, expected: str):
    before = path.read_bytes()
    status, out, err = cli("score", path)
    assert status == 2 and out == "", err
    assert expected in err and "Traceback" not in err, err
    assert path.read_bytes() == before
    assert not (path.parent / ".xlpipeline-backup").exists()


@pytest.mark.parametrize("part", ["xl/workbook.xml",            # read before anything else
                                  "xl/worksheets/sheet1.xml"])  # 任务清单, read only to patch it
def test_entity_bomb(cli, blank_workbook, tmp_path, part):
    path = tmp_path / "炸弹.xlsx"
    with zipfile.ZipFile(blank_workbook) as z:
        xml = z.read(part)
    rezip(blank_workbook, path, {part: with_bomb(xml)})
    refused(cli, path, f"部件 {part} 含有 DTD 或实体声明")


def test_zip_bomb(cli, blank_workbook, tmp_path):
    path = tmp_path / "炸弹.xlsx"
    rezip(blank_workbook, path, add={"xl/media/zeros.bin": bytes(64 * 2**20)})
    refused(cli, path, "部件 xl/media/zeros.bin 解压后过大")


def test_part_larger_than_declared(cli, blank_workbook, tmp_path):
    """A header that under-declares a part: reading stops at the declared size and the CRC fails."""
    path = tmp_path / "谎报.xlsx"
    with zipfile.ZipFile(blank_workbook) as z:
        book = z.read("xl/workbook.xml")
    rezip(blank_workbook, path, {"xl/workbook.xml": book + b" " * 2**20})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("xl/workbook.xml")
    struct.pack_into("<L", data, info.header_offset + 22, len(book))  # local header: uncompressed size
    central = struct.unpack_from("<L", data, len(data) - 6)[0]  # end record: where the directory starts
    while True:
        name_length, extra, comment = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46:central + 46 + name_length] == b"xl/workbook.xml":
            break
        central += 46 + name_length + extra + comment
    struct.pack_into("<L", data, central + 24, len(book))  # central directory: uncompressed size
    path.write_bytes(bytes(data))
    refused(cli, path, "部件 xl/workbook.xml 已损坏，无法解压（解压后大于目录所记大小")


def test_truncated_package(cli, blank_workbook, tmp_path):
    path = tmp_path / "损坏.xlsx"
    path.write_bytes(blank_workbook.read_bytes()[:5000])
    refused(cli, path, "文件已损坏或不是 Excel 工作簿")


def test_encrypted_workbook(cli, blank_workbook, tmp_path):
    path = tmp_path / "加密.xlsx"
    with open(blank_workbook, "rb") as plain, open(path, "wb") as out:
        OOXMLFile(plain).encrypt("密码123", out)
    refused(cli, path, "工作簿已加密")


def test_strict_ooxml(cli, blank_workbook, tmp_path):
    path = tmp_path / "strict.xlsx"
    with zipfile.ZipFile(blank_workbook) as z:
        book = z.read("xl/workbook.xml")
    strict = book.replace(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                          b"http://purl.oclc.org/ooxml/spreadsheetml/main")
    rezip(blank_workbook, path, {"xl/workbook.xml": strict})
    refused(cli, path, "Strict Open XML")


def test_xls_given_as_xlsx(cli, blank_workbook, tmp_path, soffice):
    xls = soffice(blank_workbook, "xls", tmp_path / "xls")
    path = tmp_path / "旧格式.xlsx"
    shutil.move(xls, path)
    refused(cli, path, "旧版 .xls 格式")


def test_unit_name_that_looks_like_a_formula(cli, tmp_path):
    path = tmp_path / "新.xlsx"
    hostile = "=cmd|' /C calc'!A0"
    status, _, err = cli("init", path, "--unit", hostile)
    assert status == 0, err
    cell = load_workbook(path)[PARAMS][param_cell(PARAM_UNIT)]
    assert cell.value == hostile and cell.data_type == "s"
    status, out, err = cli("score", path, "--json")
    assert status == 0 and f'"unit": "{hostile}"'.replace('"', "") in out.replace('"', ""), err
    summary = load_workbook(path)["得分汇总"]["B2"]
    assert summary.value == hostile and summary.data_type == "s"


@pytest.mark.parametrize("name", ["目录.xlsx"])
def test_a_folder_is_not_a_workbook(cli, tmp_path, name):
    (tmp_path / name).mkdir()
    status, _, err = cli("score", tmp_path / name)
    assert status == 2 and "这是一个文件夹" in err


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "utf-16"])
def test_a_dtd_is_refused_in_any_encoding(encoding):
    """One parse with lxml (entities never expanded, no DTD loaded), after a check for DTD markup."""
    from xlpipeline.errors import FileProblem
    from xlpipeline.ooxml.package import parse_xml
    text = '<?xml version="1.0" encoding="%s"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>' % encoding.upper()
    with pytest.raises(FileProblem, match="xl/styles.xml: 含有 DTD 或实体声明"):
        parse_xml(text.encode(encoding), "xl/styles.xml")
    assert parse_xml('<x a="&lt;!DOCTYPE">&lt;!ENTITY</x>'.encode(), "xl/styles.xml").get("a") == "<!DOCTYPE"


def test_absolute_relationship_targets_resolve_per_opc(cli, tmp_path):
    """A styles relationship written as /xl/styles.xml (absolute, as some tools do) is the same part."""
    from openpyxl import Workbook
    plain = tmp_path / "plain.xlsx"
    Workbook().save(plain)
    path = tmp_path / "绝对路径.xlsx"
    with zipfile.ZipFile(plain) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").replace(b'Target="styles.xml"', b'Target="/xl/styles.xml"')
    assert b'Target="/xl/styles.xml"' in rels
    rezip(plain, path, {"xl/_rels/workbook.xml.rels": rels})
    status, _, err = cli("init", path, "--add")
    assert status == 0, err
    assert cli("score", path, "--dry-run")[0] == 0


# --- the package gate: zip members as Excel, WPS and LibreOffice write them (issue 11, item 1) ---------

def headers(data: bytes, member: str) -> tuple[int, int]:
    """Offsets of `member`'s local header and of its central directory entry."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        local = z.getinfo(member).header_offset
    central = struct.unpack_from("<L", data, len(data) - 6)[0]
    while data[central + 46:central + 46 + struct.unpack_from("<H", data, central + 28)[0]] != member.encode():
        name_length, extra, comment = struct.unpack_from("<HHH", data, central + 28)
        central += 46 + name_length + extra + comment
    return local, central


def patched(blank_workbook, path, member, local: dict[int, int], central: dict[int, int]):
    """The workbook with 16-bit fields of `member`'s headers set: offset in the header → value."""
    data = bytearray(blank_workbook.read_bytes())
    at_local, at_central = headers(bytes(data), member)
    for at, fields in ((at_local, local), (at_central, central)):
        for offset, value in fields.items():
            struct.pack_into("<H", data, at + offset, value)
    path.write_bytes(bytes(data))


def test_a_doctype_across_the_gates_read_chunks_is_found(cli, blank_workbook, tmp_path):
    """The gate reads parts in chunks of 4 MiB: a DOCTYPE that starts 3 bytes before a chunk ends,
    in a part nothing else parses, is still refused."""
    from xlpipeline.ooxml.package import CHUNK
    head = b'<?xml version="1.0"?>'
    body = head + b" " * (CHUNK - 3 - len(head)) + b'<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>'
    assert body.index(b"<!DOCTYPE") == CHUNK - 3
    path = tmp_path / "跨块.xlsx"
    with zipfile.ZipFile(blank_workbook) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        zout.writestr(zipfile.ZipInfo("customXml/item9.xml"), body, zipfile.ZIP_STORED)
    refused(cli, path, "部件 customXml/item9.xml 含有 DTD 或实体声明")


SHEET = "xl/worksheets/sheet2.xml"
# 16-bit fields: flags at 6 (local) and 8 (central), method at 8 (local) and 10 (central)
@pytest.mark.parametrize("local, central, expected", [
    ({6: 1}, {8: 1}, f"部件 {SHEET} 已加密"),                          # the encryption flag
    ({8: 9}, {10: 9}, f"部件 {SHEET} 使用了不支持的压缩方式（9）"),        # deflate64
    ({8: 93}, {10: 93}, f"部件 {SHEET} 使用了不支持的压缩方式（93）"),     # zstandard
    ({8: 0}, {}, f"部件 {SHEET} 的本地文件头与目录不一致"),                 # stored here, deflated there
    ({6: 1}, {}, f"部件 {SHEET} 的本地文件头与目录不一致"),                 # encrypted here only
    ({6: 0x40}, {8: 0x40}, f"部件 {SHEET} 已加密"),                     # strong encryption (bit 6)
    ({}, {8: 0x40}, f"部件 {SHEET} 已加密"),                             # ... in the directory only
    ({6: 0x40}, {}, f"部件 {SHEET} 的本地文件头与目录不一致"),             # ... in the local header only
    ({6: 0x20}, {8: 0x20}, f"部件 {SHEET} 使用了不支持的压缩方式"),        # compressed patched data (bit 5)
], ids=["encrypted", "deflate64", "zstd", "method-mismatch", "flag-mismatch", "strong-encryption",
        "strong-encryption-directory", "strong-encryption-local", "patched-data"])
def test_member_flags_and_methods(cli, blank_workbook, tmp_path, local, central, expected):
    path = tmp_path / "异常.xlsx"
    patched(blank_workbook, path, SHEET, local, central)
    refused(cli, path, expected)


def test_local_name_differs_from_directory(cli, blank_workbook, tmp_path):
    path = tmp_path / "异常.xlsx"
    data = bytearray(blank_workbook.read_bytes())
    local, _ = headers(bytes(data), SHEET)
    data[local + 30:local + 30 + len(SHEET)] = SHEET.replace("sheet2", "sheet9").encode()
    path.write_bytes(bytes(data))
    refused(cli, path, f"部件 {SHEET} 的本地文件头与目录不一致")


def test_crc_mismatch_in_a_part_no_command_reads(cli, blank_workbook, tmp_path):
    """A damaged part we would copy unread into the saved workbook is refused all the same."""
    path = tmp_path / "异常.xlsx"
    rezip(blank_workbook, path, add={"xl/media/image9.png": b"\x89PNG" + bytes(200)})
    data = bytearray(path.read_bytes())
    local, central = headers(bytes(data), "xl/media/image9.png")
    for at in (local + 14, central + 16):
        struct.pack_into("<L", data, at, 12345)
    path.write_bytes(bytes(data))
    refused(cli, path, "部件 xl/media/image9.png 已损坏，无法解压（大小或 CRC 校验值与目录不符")


def test_name_flagged_utf8_that_is_not(cli, blank_workbook, tmp_path):
    path = tmp_path / "异常.xlsx"
    rezip(blank_workbook, path, add={"xl/media/图.png": b"png"})
    path.write_bytes(path.read_bytes().replace("图".encode(), b"\xff\xfe\xfd"))
    refused(cli, path, "部件名不是有效的 UTF-8 编码")


@pytest.mark.parametrize("second", ["xl/worksheets/sheet2.xml", "XL/Worksheets/Sheet2.xml"])
def test_duplicate_member_names(cli, blank_workbook, tmp_path, second):
    path = tmp_path / "异常.xlsx"
    with pytest.warns(UserWarning, match="Duplicate") if second == SHEET else contextlib.nullcontext():
        rezip(blank_workbook, path, add={second: b"<worksheet/>"})
    refused(cli, path, f"压缩包内有重名的部件（{SHEET}，不区分大小写）")


def test_backslash_member_names(cli, blank_workbook, tmp_path):
    """A package zipped by a tool that kept Windows separators: every name has backslashes."""
    path = tmp_path / "异常.xlsx"
    with zipfile.ZipFile(blank_workbook) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename.replace("/", "\\"), zin.read(info))
    refused(cli, path, "使用了反斜杠")


@pytest.mark.parametrize("xml, expected", [
    (b'<?xml version="1.0" encoding="x-unknown"?><sst/>', "Unsupported encoding"),
    (b"<sst>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</sst>", "Excessive depth"),
])
def test_xml_lxml_refuses_is_a_clear_error(cli, blank_workbook, tmp_path, xml, expected):
    path = tmp_path / "异常.xlsx"
    rezip(blank_workbook, path, {"xl/workbook.xml": xml})
    refused(cli, path, f"xl/workbook.xml: XML 损坏：{expected}")


def test_a_latin1_part_is_decoded(blank_workbook, tmp_path):
    from xlpipeline.ooxml.package import parse_xml
    root = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><x>Café</x>'.encode("latin-1"), "x.xml")
    assert root.text == "Café"


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "docProps/core.xml", "xl/worksheets/_rels/sheet1.xml.rels"])
def test_a_dtd_in_any_part_is_refused_at_init_add(cli, blank_workbook, tmp_path, part):
    from openpyxl import Workbook
    plain, path = tmp_path / "plain.xlsx", tmp_path / "带DTD.xlsx"
    wb = Workbook()
    wb.active["A1"] = "文字"
    wb.save(plain)
    with zipfile.ZipFile(plain) as z:
        present = part in z.namelist()
        xml = z.read(part) if present else b'<?xml version="1.0"?><Relationships/>'
    rezip(plain, path, {part: with_bomb(xml)} if present else {}, add={} if present else {part: with_bomb(xml)})
    before = path.read_bytes()
    status, _, err = cli("init", path, "--add")
    assert status == 2 and f"部件 {part} 含有 DTD" in err and "Traceback" not in err, err
    assert path.read_bytes() == before


# --- damaged parts we read or patch (issue 11, item 2) -------------------------------------------------

def damaged(blank_workbook, path, part, old: bytes, new: bytes | None):
    """The workbook with `old` replaced by `new` once in `part`; `new` None leaves the part out."""
    with zipfile.ZipFile(blank_workbook) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == part and new is None:
                continue
            if info.filename == part:
                assert re.search(old, data), (part, old)
                data = re.sub(old, new, data, count=1)
            zout.writestr(info, data)
    return path


FORM, SUMMARY, LOG = "xl/worksheets/sheet1.xml", "xl/worksheets/sheet5.xml", "xl/worksheets/sheet2.xml"


@pytest.mark.parametrize("part, name", [(FORM, "任务清单"), (SUMMARY, "得分汇总"), (LOG, "扣分台账")])
@pytest.mark.parametrize("old, new, expected", [
    (rb'<c r="([A-Z]+)1"', rb'<c r="\g<1>0"', "（单元格或行的位置无效）|Range is missing"),
    (rb'<row r="1"', rb'<row r="abc"', "（单元格或行的位置无效）|Range is missing"),
    (rb'<sheetFormatPr ', rb'<sheetFormatPr defaultRowHeight="abc" ', "defaultRowHeight=“abc”无效"),
    (rb'', None, "不存在（工作簿已损坏）"),
], ids=["A0", "row-abc", "defaultRowHeight", "part-missing"])
def test_a_damaged_sheet_is_refused_naming_it(cli, blank_workbook, tmp_path, part, name, old, new, expected):
    if b"sheetFormatPr" in old:
        with zipfile.ZipFile(blank_workbook) as z:
            if b"defaultRowHeight" in z.read(part):
                old, new = rb'defaultRowHeight="[^"]*"', rb'defaultRowHeight="abc"'
    path = damaged(blank_workbook, tmp_path / "损坏.xlsx", part, old, new)
    before = path.read_bytes()
    status, out, err = cli("score", path)
    if "defaultRowHeight" in expected and part == LOG:
        assert status == 0, err  # the log is read, never patched: its row height does not matter
        return
    assert status == 2 and "Traceback" not in err, err
    assert re.search(expected, err) and (name in err), err
    assert path.read_bytes() == before and not (tmp_path / ".xlpipeline-backup").exists()


# --- init --add on workbooks as other tools write them (issue 11, item 4) -------------------------------

def plain_workbook(tmp_path) -> Path:
    from openpyxl import Workbook
    wb = Workbook()
    wb.active["A1"] = "用户的数据"
    wb.create_sheet("第二")
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    return path


def rewritten(source, target, change):
    """A copy of the package with each (name, bytes) passed through `change` (None drops the part)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            name, data = change(info.filename, zin.read(info))
            if name:
                zout.writestr(name, data)
    return target


def added_and_scored(cli, path):
    status, _, err = cli("init", path, "--add")
    assert status == 0, err
    status, _, err = cli("score", path)
    assert status == 0, err
    with zipfile.ZipFile(path) as z:
        names = [n.lower() for n in z.namelist()]
    assert len(names) == len(set(names))
    return path


def test_new_parts_differ_from_existing_ones_ignoring_case(cli, tmp_path):
    def capitalised(name, data):
        return name.replace("worksheets/sheet", "worksheets/Sheet"), data.replace(b"worksheets/sheet", b"worksheets/Sheet")
    path = rewritten(plain_workbook(tmp_path), tmp_path / "大写.xlsx", capitalised)
    rezip(path, tmp_path / "带关系.xlsx", add={"xl/worksheets/_rels/sheet3.xml.rels":
                                              b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'})
    for workbook in (path, tmp_path / "带关系.xlsx"):
        added_and_scored(cli, workbook)
    with zipfile.ZipFile(tmp_path / "带关系.xlsx") as z:
        assert "xl/worksheets/sheet3.xml" not in z.namelist()


def test_a_workbook_without_styles_gets_one(cli, tmp_path, soffice):
    def without_styles(name, data):
        if name == "xl/styles.xml":
            return None, None
        if name.endswith(".rels"):
            data = re.sub(rb'<Relationship [^>]*/styles"[^>]*/>', b"", data)
        if name == "[Content_Types].xml":
            data = re.sub(rb'<Override PartName="/xl/styles.xml"[^>]*/>', b"", data)
        return name, data
    path = rewritten(plain_workbook(tmp_path), tmp_path / "无样式.xlsx", without_styles)
    added_and_scored(cli, path)
    with zipfile.ZipFile(path) as z:
        assert b"/styles" in z.read("xl/_rels/workbook.xml.rels") and b"styles+xml" in z.read("[Content_Types].xml")
    assert load_workbook(path)["Sheet"]["A1"].value == "用户的数据"
    assert soffice(path, "pdf", tmp_path / "lo").stat().st_size > 0


def test_an_office_2007_beta_workbook_is_refused(cli, tmp_path):
    def beta(name, data):
        return name, data.replace(b"spreadsheetml/2006/main", b"spreadsheetml/2006/5/main")
    path = rewritten(plain_workbook(tmp_path), tmp_path / "测试版.xlsx", beta)
    before = path.read_bytes()
    status, _, err = cli("init", path, "--add")
    assert status == 2 and "不是可识别的 Excel 工作簿格式" in err and "Traceback" not in err, err
    assert path.read_bytes() == before


def test_a_workbook_with_an_excel4_macro_sheet_is_read(cli, tmp_path):
    macro_ns = b'<xm:macrosheet xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"'

    def macro(name, data):
        if name == "xl/worksheets/sheet2.xml":
            return "xl/macrosheets/sheet1.xml", data.replace(b"<worksheet", macro_ns).replace(
                b"</worksheet>", b"</xm:macrosheet>")
        if name == "xl/_rels/workbook.xml.rels":
            data = re.sub(rb'relationships/worksheet"( Target="/?(?:xl/)?)worksheets/sheet2.xml"',
                          rb'relationships/xlMacrosheet"\1macrosheets/sheet1.xml"', data)
        if name == "[Content_Types].xml":
            data = re.sub(rb'/xl/worksheets/sheet2.xml" ContentType="[^"]*"',
                          b'/xl/macrosheets/sheet1.xml" ContentType="application/vnd.ms-excel.macrosheet+xml"', data)
        return name, data
    path = rewritten(plain_workbook(tmp_path), tmp_path / "宏表.xlsx", macro)
    with zipfile.ZipFile(path) as z:
        assert b"xlMacrosheet" in z.read("xl/_rels/workbook.xml.rels")
        macro_sheet = z.read("xl/macrosheets/sheet1.xml")
    added_and_scored(cli, path)
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/macrosheets/sheet1.xml") == macro_sheet
