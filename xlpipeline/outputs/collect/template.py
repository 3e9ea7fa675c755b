"""`xlpipeline template build --rollup`: the jinja template of the roll-up workbook, built with
openpyxl like the 附件1 template; offices may restyle it in Excel. `rollup_context` documents
the names it can use. 汇总's column H repeats once per score column (`{%col … %}`), its row 5
once per unit; the charts on 图表 read those repeated rows, so they grow with them."""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from xlpipeline.ooxml.safesave import replace_file
from xlpipeline.workbook.form import setup_page

HEADER_FONT, BODY_FONT = "黑体", "仿宋_GB2312"
SCORE = "0.00"
CHART_ROWS = 24  # default-height rows a chart covers
_thin = Side(style="thin")
GRID = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

SUMMARY = (("排名", 5, "{%row for unit in units %}{{ unit.rank }}"), ("单位", 14, "{{ unit.unit }}"),
           ("总分", 7, "{{ unit.total }}"), ("加分", 6, "{{ unit.bonus }}"), ("扣分合计", 7, "{{ unit.deduction }}"),
           ("填报日期", 10, "{{ unit.date }}"),
           ("{%col for column in columns %}{{ column.title }}", 5.5, "{{ unit.cells[column.key] }}"))
ITEMS = (("序号", 6, "{%row for item in items %}{{ item.no }}"), ("项目", 12, "{{ item.label }}"),
         ("有扣分的单位数", 10, "{{ item.units }}"), ("平均扣分", 9, "{{ item.mean }}"),
         ("最大扣分", 9, "{{ item.max }}"), ("最常见情形代码", 10, "{{ item.code }}"),
         ("情形", 40, "{{ item.code_label }}"), ("涉及单位数", 9, "{{ item.code_units }}"))
BLOCKS = (("分块", "{%row for block in blocks %}{{ block.block }}"), ("序号", "{{ block.span }}"),
          ("分值", "{{ block.points }}"), ("各单位扣分合计", "{{ block.deduction }}"), ("平均得分", "{{ block.mean }}"))
PROBLEMS = (("文件", 60, "{%row for problem in problems %}{{ problem.file }}"), ("问题", 80, "{{ problem.message }}"),
            ("是否计入", 9, "{{ problem.counted }}"))


def build_rollup_template(path: Path) -> None:
    wb = Workbook()
    _summary(wb.active)
    _items(wb.create_sheet("单项统计"))
    _charts(wb.create_sheet("图表"), wb["汇总"], wb["单项统计"])
    _problems(wb.create_sheet("问题清单"))
    replace_file(path, wb.save)  # a restyled template it replaces is kept in .xlpipeline-backup/


def _title(ws: Worksheet, text: str, last: str, subtitle: str | None = None) -> None:
    ws["A1"] = text
    ws["A1"].font = Font(name=HEADER_FONT, size=16)
    ws["A1"].alignment = CENTER
    ws.merge_cells(f"A1:{last}1")
    ws.row_dimensions[1].height = 30
    if subtitle:
        ws["A2"] = subtitle
        ws["A2"].font = Font(name=BODY_FONT, size=11)
        ws.merge_cells(f"A2:{last}2")


def _table(ws: Worksheet, header_row: int, titles, cells, widths=None, formats=()) -> None:
    for col, (title, cell) in enumerate(zip(titles, cells), start=1):
        head, body = ws.cell(header_row, col, title), ws.cell(header_row + 1, col, cell)
        head.font, body.font = Font(name=HEADER_FONT, size=11), Font(name=BODY_FONT, size=11)
        head.border = body.border = GRID
        head.alignment = body.alignment = CENTER
        if widths:
            ws.column_dimensions[head.column_letter].width = widths[col - 1]
    ws.row_dimensions[header_row].height = 30  # two lines of a header like 有扣分的单位数
    for col, number_format in formats:
        ws.cell(header_row + 1, col).number_format = number_format


def _bar_chart(title: str, data: Reference, categories: Reference, y_title: str) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.y_axis.scaling.min = 0  # explicitly: LibreOffice would start at the smallest bar (84 made 97.9 look 3× 89.5)
    chart.legend = None
    chart.add_data(data, titles_from_data=False)
    chart.set_categories(categories)
    chart.width, chart.height = 25, 12  # centimetres: one chart fills an A4 landscape page
    return chart


def _summary(ws: Worksheet) -> None:
    ws.title = "汇总"
    _title(ws, "{{ year }} 年度创建模范机关考评汇总", "F",  # over the fixed columns: on the first page
           "{{ scope_label }}　　共 {{ unit_count }} 个单位　　汇总日期：{{ today }}")
    _table(ws, 4, [t for t, _, _ in SUMMARY], [c for _, _, c in SUMMARY], [w for _, w, _ in SUMMARY],
           [(3, SCORE), (4, SCORE), (5, SCORE), (6, "yyyy-mm-dd"), (7, SCORE)])
    setup_page(ws, "4:4")
    # one column per block and item: printed at full size over as many pages as it needs, with rank,
    # unit and total repeated on each, instead of 38 columns shrunk onto one sheet (about 5 pt)
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_setup.scale = 100
    ws.print_title_cols = "A:C"
    ws.oddHeader.center.text = "&\"黑体\"创建模范机关考评汇总"


def _items(ws: Worksheet) -> None:
    _title(ws, "{{ year }} 年度单项统计", "H", "{{ scope_label }}　　共 {{ unit_count }} 个单位")
    _table(ws, 4, [t for t, _, _ in ITEMS], [c for _, _, c in ITEMS], [w for _, w, _ in ITEMS],
           [(4, SCORE), (5, SCORE)])
    _table(ws, 7, [t for t, _ in BLOCKS], [c for _, c in BLOCKS], formats=[(3, SCORE), (4, SCORE), (5, SCORE)])
    setup_page(ws, "4:4")
    ws.oddHeader.center.text = "&\"黑体\"创建模范机关考评汇总 · 单项统计"


def _charts(ws: Worksheet, summary: Worksheet, items: Worksheet) -> None:
    """Each chart on a page of its own; they read the repeated rows of 汇总 and 单项统计."""
    _title(ws, "{{ year }} 年度考评汇总图表", "P", "{{ scope_label }}　　共 {{ unit_count }} 个单位")
    ws.add_chart(_bar_chart("各单位总分", Reference(summary, min_col=3, min_row=5, max_row=5),
                            Reference(summary, min_col=2, min_row=5, max_row=5), "总分"), "A4")
    ws.row_breaks.append(Break(id=CHART_ROWS + 4))
    ws.add_chart(_bar_chart("各分块扣分合计（全部单位）", Reference(items, min_col=4, min_row=8, max_row=8),
                            Reference(items, min_col=1, min_row=8, max_row=8), "扣分"), f"A{CHART_ROWS + 6}")
    setup_page(ws)
    ws.oddHeader.center.text = "&\"黑体\"创建模范机关考评汇总 · 图表"
    ws.print_area = f"A1:P{2 * CHART_ROWS + 8}"


def _problems(ws: Worksheet) -> None:
    _title(ws, "问题清单", "C", "汇总日期：{{ today }}")
    _table(ws, 4, [t for t, _, _ in PROBLEMS], [c for _, _, c in PROBLEMS], [w for _, w, _ in PROBLEMS])
    for col in (1, 2):
        ws.cell(5, col).alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    setup_page(ws, "4:4")
    ws.oddHeader.center.text = "&\"黑体\"创建模范机关考评汇总 · 问题清单"
