"""Workbooks made by other tools, decorated the way staff decorate theirs."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import xlsxwriter

CUSTOM_UI = (b'<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"><ribbon><tabs>'
             b'<tab id="t" label="\xe8\x87\xaa\xe5\xae\x9a\xe4\xb9\x89"/></tabs></ribbon></customUI>')
UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"


def png(width=16, height=16, rgb=(200, 30, 30)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def decorated(path: Path, vba: bytes | None = None) -> Path:
    """XlsxWriter: image, chart, text box, comment, sparklines, data bars, table, header image,
    defined name, a formula, data validation; with `vba`, an .xlsm with a vbaProject."""
    logo = path.parent / "logo.png"
    logo.write_bytes(png())
    wb = xlsxwriter.Workbook(str(path))
    if vba is not None:
        project = path.parent / "vbaProject.bin"
        project.write_bytes(vba)
        wb.add_vba_project(str(project))
    data = wb.add_worksheet("数据")
    data.write_row("A1", ["月份", "案件数", "得分"])
    for row, (month, cases, score) in enumerate([("1月", 3, 98), ("2月", 1, 99.5), ("3月", 4, 97),
                                                 ("4月", 0, 100), ("5月", 2, 99)], start=1):
        data.write_row(row, 0, [month, cases, score])
    data.write_formula("B7", "=SUM(B2:B6)", None, 10)
    data.write_number("C8", 0.95, wb.add_format({"num_format": '0.0%"达标"'}))  # their custom format, id 164
    data.add_sparkline("D2", {"range": "数据!B2:B6"})
    data.conditional_format("C2:C6", {"type": "data_bar", "bar_color": "#63C384"})
    data.conditional_format("B2:B6", {"type": "cell", "criteria": ">", "value": 2,
                                      "format": wb.add_format({"bg_color": "#FFC7CE"})})  # a dxf of theirs
    data.add_table("F1:G4", {"columns": [{"header": "科室"}, {"header": "负责人"}],
                              "data": [["综合科", "张三"], ["督查科", "李四"], ["执法科", "王五"]]})
    data.write_comment("A1", "批注：月度统计，请勿删除")
    data.data_validation("B2:B6", {"validate": "integer", "criteria": ">=", "value": 0})
    data.set_header("&L&G&C机关考评", {"image_left": str(logo)})
    data.insert_image("I2", "logo.png", {"image_data": io.BytesIO(png(rgb=(30, 90, 200)))})
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"name": "案件数", "categories": "=数据!$A$2:$A$6", "values": "=数据!$B$2:$B$6"})
    data.insert_chart("I8", chart)
    data.insert_textbox("D10", "模范机关创建 全员参与", {"width": 240, "height": 60})
    wb.define_name("案件合计", "=数据!$B$7")
    wb.close()
    return path


def with_custom_ui(path: Path) -> Path:
    """Add a customUI ribbon part and its package relationship, as the Custom UI Editor does."""
    rebuilt = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "_rels/.rels":
                data = data.replace(b"</Relationships>", (
                    f'<Relationship Id="rIdUI" Type="{UI_REL}" Target="customUI/customUI14.xml"/>'
                    "</Relationships>").encode())
            zout.writestr(info, data)
        zout.writestr("customUI/customUI14.xml", CUSTOM_UI)
    rebuilt.replace(path)
    return path
