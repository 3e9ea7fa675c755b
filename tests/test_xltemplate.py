"""The xlsx template renderer: types, repeated rows, merges and ranges that follow, sandbox, errors."""
from __future__ import annotations

import io
import sys
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from jinja2 import Environment, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from openpyxl import Workbook, load_workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook

from corpus import png
from xlpipeline.outputs.render import write_output
from xlpipeline.outputs.xltemplate import TemplateProblem, XlsxTemplate

ROWS = [{"no": 1, "name": "甲", "group": "A", "amount": Decimal("1.50"), "when": date(2026, 3, 1)},
        {"no": 2, "name": "乙", "group": "A", "amount": Decimal("0.25"), "when": date(2026, 4, 1)},
        {"no": 3, "name": "丙", "group": "B", "amount": 2, "when": date(2026, 5, 1)}]


def make_template(path, loop_cell="A3", extra=None):
    wb = Workbook()
    ws = wb.active
    ws.title = "表"
    ws["A1"] = "{{ title }}"
    ws["B1"] = "{{ count }}"
    ws["C1"] = "单位：{{ unit }}"
    ws.append(["序号", "名称", "分组", "金额", "日期"])
    ws.append(["{{ row.no }}", "{{ row.name }}", "{{ row.group }}", "{{ row.amount }}", "{{ row.when }}"])
    ws[loop_cell] = "{%row for row in rows %}{%merge C=row.group %}" + str(ws[loop_cell].value)
    ws["E3"].number_format = "yyyy-mm-dd"
    ws["F3"] = "=D3*2"
    ws.append(["合计", None, None, "=SUM(D3:D3)", None, "=SUM($F$3:F3)"])
    ws.append(["签名：", "{{ signer }}"])
    ws.merge_cells("A4:C4")   # below the loop: moves down
    ws.merge_cells("A5:A6")
    ws["A7"] = "注：{{ note }}"
    dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
    dv.add("B5")
    ws.add_data_validation(dv)
    looped = DataValidation(type="decimal", operator="between", formula1="0", formula2="10")
    looped.add("D3")
    ws.add_data_validation(looped)
    ws.conditional_formatting.add("D3:D3", CellIsRule(operator="greaterThan", formula=["1"], font=None))
    ws.print_title_rows = "2:2"
    ws.print_area = "A1:F7"
    ws.row_dimensions[5].height = 40
    if extra:
        extra(wb)
    wb.save(path)
    return path


CONTEXT = {"title": "标题", "count": 3, "unit": "市散墙办", "rows": ROWS, "signer": "张三", "note": "无"}


def render(template_path, context=CONTEXT):
    out = template_path.with_name("out.xlsx")
    write_output(XlsxTemplate(template_path), context, out)
    return out


def test_values_keep_their_types(tmp_path):
    out = render(make_template(tmp_path / "t.xlsx"))
    ws = load_workbook(out)["表"]
    assert ws["A1"].value == "标题" and ws["B1"].value == 3 and ws["C1"].value == "单位：市散墙办"
    assert [ws[f"A{r}"].value for r in (3, 4, 5)] == [1, 2, 3]
    assert [ws[f"D{r}"].value for r in (3, 4, 5)] == [1.5, 0.25, 2]
    assert ws["E3"].is_date and ws["E3"].value.date() == date(2026, 3, 1)
    assert ws["E5"].value.date() == date(2026, 5, 1) and ws["E5"].number_format == "yyyy-mm-dd"


def test_rows_below_the_loop_move_with_their_merges_and_validation(tmp_path):
    out = render(make_template(tmp_path / "t.xlsx"))
    ws = load_workbook(out)["表"]
    assert ws["A6"].value == "合计" and ws["A7"].value == "签名：" and ws["B7"].value == "张三"
    assert ws["A9"].value == "注：无"
    merges = set(map(str, ws.merged_cells.ranges))
    assert {"A6:C6", "A7:A8", "C3:C4"} == merges  # C3:C4 from {%merge C=row.group %}
    assert ws["C3"].value == "A" and ws["C4"].value is None and ws["C5"].value == "B"
    validations = {str(dv.sqref): dv.type for dv in ws.data_validations.dataValidation}
    assert validations == {"B7": "whole", "D3:D5": "decimal"}
    assert [str(r.sqref) for r in ws.conditional_formatting] == ["D3:D5"]
    assert ws.row_dimensions[7].height == 40
    assert ws.print_title_rows == "$2:$2" and ws.print_area == "'表'!$A$1:$F$9"


def test_formulas_follow_the_rows(tmp_path):
    out = render(make_template(tmp_path / "t.xlsx"))
    ws = load_workbook(out)["表"]
    assert [ws[f"F{r}"].value for r in (3, 4, 5)] == ["=D3*2", "=D4*2", "=D5*2"]
    assert ws["D6"].value == "=SUM(D3:D5)" and ws["F6"].value == "=SUM($F$3:F5)"


def test_formulas_compute_in_libreoffice(tmp_path, soffice):
    out = render(make_template(tmp_path / "t.xlsx"))
    recalculated = soffice(out, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    rows = CalamineWorkbook.from_path(str(recalculated)).get_sheet_by_name("表").to_python()
    assert rows[5][3] == pytest.approx(3.75) and rows[5][5] == pytest.approx(7.5)


def test_formulas_carry_their_values_for_readers_that_do_not_calculate(tmp_path):
    """calamine reads cached values only: the totals must be there, computed exactly."""
    def extra(wb):
        ws = wb["表"]
        ws["G3"] = "=D3-0.1*(1+1)"
        ws["H4"] = "=SUM(D3:D3,1.25,-F3)/2"
        ws["I4"] = "=ROUND(D4,0)"   # not a function we compute: no cached value, Excel computes it
        ws["J4"] = "=J4+1"          # circular: none either
        ws["K4"] = "=A4*2"          # text (合计) in arithmetic: none
    out = render(make_template(tmp_path / "t.xlsx", extra=extra))
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("表").to_python()
    assert [rows[r][5] for r in (2, 3, 4)] == [3.0, 0.5, 4.0]            # =D3*2 … per repeated row
    assert [rows[r][6] for r in (2, 3, 4)] == [1.3, 0.05, 1.8]           # =D3-0.1*(1+1)
    assert rows[5][3] == 3.75 and rows[5][5] == 7.5                      # =SUM(D3:D5), =SUM($F$3:F5)
    assert rows[5][7] == 1.0                                             # =SUM(D3:D5,1.25,-F3)/2
    assert all(v == "" for v in rows[5][8:11])
    with zipfile.ZipFile(out) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="F6"><f>SUM($F$3:F5)</f><v>7.50</v></c>' in xml
    for ref, formula in (("I6", "ROUND(D6,0)"), ("J6", "J6+1"), ("K6", "A6*2")):
        assert f'<c r="{ref}"><f>{formula}</f></c>' in xml


def test_an_empty_list_removes_the_row(tmp_path):
    out = render(make_template(tmp_path / "t.xlsx"), {**CONTEXT, "rows": []})
    ws = load_workbook(out)["表"]
    assert ws["A3"].value == "合计" and ws["D3"].value == "=SUM(0)" and ws["F3"].value == "=SUM(0)"
    assert "A3:C3" in set(map(str, ws.merged_cells.ranges))


def test_loop_directive_in_any_cell_and_loop_variable(tmp_path):
    def extra(wb):
        wb["表"]["G3"] = "{{ loop.index }}/{{ loop.length }}"
    out = render(make_template(tmp_path / "t.xlsx", loop_cell="B3", extra=extra))
    ws = load_workbook(out)["表"]
    assert [ws[f"B{r}"].value for r in (3, 4, 5)] == ["甲", "乙", "丙"]
    assert [ws[f"G{r}"].value for r in (3, 4, 5)] == ["1/3", "2/3", "3/3"]


def test_repeated_rows_fit_their_text(tmp_path):
    long = "很长的说明文字" * 20
    rows = [{**ROWS[0], "name": long}, ROWS[1]]
    out = render(make_template(tmp_path / "t.xlsx"), {**CONTEXT, "rows": rows})
    ws = load_workbook(out)["表"]
    assert ws.row_dimensions[3].height > 3 * ws.row_dimensions[4].height


def test_pictures_below_the_loop_move_down(tmp_path):
    import xlsxwriter
    template = tmp_path / "图.xlsx"
    wb = xlsxwriter.Workbook(str(template))
    ws = wb.add_worksheet("表")
    ws.write("A1", "{{ title }}")
    ws.write("A2", "{%row for row in rows %}{{ row.name }}")
    ws.write("A3", "签章")
    ws.insert_image("B4", "logo.png", {"image_data": io.BytesIO(png())})
    wb.close()
    out = render(template)
    with zipfile.ZipFile(out) as z:
        drawing = z.read("xl/drawings/drawing1.xml").decode()
        assert z.read("xl/media/image1.png") == png()
    assert "<xdr:row>5</xdr:row>" in drawing  # row 4 (0-based 3) + 2 more copies
    assert load_workbook(out)["表"]["A5"].value == "签章"


@pytest.mark.parametrize("text, message", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "表!B1: 模板错误："),
    ("{{ unit.__class__ }}", "表!B1: 模板错误："),
    ("{{ missing_name }}", "表!B1: 模板错误：'missing_name' is undefined"),
    ("{{ 1 / 0 }}", "表!B1: 模板错误："),
    ("{{ unit", "表!B1: 模板错误："),
])
def test_template_errors_name_sheet_and_cell(tmp_path, text, message):
    def extra(wb):
        wb["表"]["B1"] = text
    template = make_template(tmp_path / "t.xlsx", extra=extra)
    with pytest.raises(TemplateProblem) as err:
        XlsxTemplate(template).render(CONTEXT, io.BytesIO())
    assert str(err.value).startswith(message)


def frame_holder():
    yield


UNSAFE = {"gen": frame_holder(), "cls": str, "frame": sys._getframe(), "code": frame_holder.__code__}
ESCAPES = ["gen.gi_frame.f_globals", "gen.gi_frame", "gen.gi_code", "cls.mro", "frame.f_globals",
           "frame.f_back", "code.co_consts", "rows.__class__.__init__"]


@pytest.mark.parametrize("path", ESCAPES)
@pytest.mark.parametrize("form", ["{{ %s }}", "{{ (%s) }}", "值：{{ %s }}"], ids=["path", "expression", "text"])
def test_sandbox_refuses_escapes(tmp_path, path, form):
    """Each payload works in a plain jinja Environment (so it is a real escape, not a typo) and is
    refused by ours with the sandbox's own words, whichever way the cell is evaluated: a plain
    dotted path (our fast lookup), another expression, or text around it."""
    context = {**CONTEXT, **UNSAFE}
    assert Environment().from_string(form % path).render(context)  # reaches the object in plain jinja

    def extra(wb):
        wb["表"]["B1"] = form % path
    with pytest.raises(TemplateProblem) as err:
        XlsxTemplate(make_template(tmp_path / "t.xlsx", extra=extra)).render(context, io.BytesIO())
    assert str(err.value).startswith("表!B1: 模板错误：")
    assert "is unsafe" in str(err.value) or "unsafe attribute" in str(err.value), err.value


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    out = render(make_template(tmp_path / "t.xlsx"), {**CONTEXT, "title": "=cmd|' /C calc'!A0"})
    cell = load_workbook(out)["表"]["A1"]
    assert cell.data_type == "s" and cell.value == "=cmd|' /C calc'!A0"


@pytest.mark.parametrize("text", ["{{ row.name }}", "{{ row.items }}", "{{ obj.real }}", "{{ obj.imag }}",
                                  "{{ nested.a.b }}", "{{ title }}", "{{ dict }}"])
def test_plain_paths_resolve_as_jinja_does(text):
    """Cells like {{ item.no }} skip building a jinja context; the answer must not change."""
    from xlpipeline.outputs.xltemplate.cells import render_text
    context = {"row": {"name": "甲", "items": "键"}, "obj": 3 + 4j, "nested": {"a": {"b": Decimal("1.5")}},
               "title": "标题"}
    jinja = SandboxedEnvironment(undefined=StrictUndefined)  # jinja itself, not the module's environment
    expected = jinja.compile_expression(text.strip("{} "), undefined_to_none=False)(**context)
    assert render_text(text, context) == expected


@pytest.mark.parametrize("text", ["{{ row.missing }}", "{{ nobody }}", "{{ row.__class__ }}", "{{ obj._secret }}"])
def test_plain_paths_fail_as_jinja_does(text):
    from jinja2 import TemplateError
    from xlpipeline.outputs.xltemplate.cells import render_text

    class Obj:
        _secret = 1
    with pytest.raises(TemplateError):
        render_text(text, {"row": {"name": "甲"}, "obj": Obj()})


def test_new_merges_go_where_excel_expects_them(tmp_path):
    """A template without merges whose loop merges rows: <mergeCells> must follow <autoFilter>."""
    from lxml import etree
    wb = Workbook()
    ws = wb.active
    ws.title = "表"
    ws.append(["分组", "名称"])
    ws.append(["{%row for row in rows %}{%merge A=row.group %}{{ row.group }}", "{{ row.name }}"])
    ws.auto_filter.ref = "A1:B2"
    template = tmp_path / "t.xlsx"
    wb.save(template)
    out = render(template)
    with zipfile.ZipFile(out) as z:
        root = etree.fromstring(z.read("xl/worksheets/sheet1.xml"))
    order = [etree.QName(child).localname for child in root]
    assert order.index("autoFilter") < order.index("mergeCells") < order.index("pageMargins")
    result = load_workbook(out)["表"]
    assert set(map(str, result.merged_cells.ranges)) == {"A2:A3"} and result.auto_filter.ref == "A1:B4"


def test_active_cell_and_pane_stay_single_cells(tmp_path):
    def extra(wb):
        ws = wb["表"]
        ws.freeze_panes = "A4"  # the pane's corner sits on the row after the repeated one
        ws.sheet_view.selection[-1].activeCell = "B7"
        ws.sheet_view.selection[-1].sqref = "B7"
    out = render(make_template(tmp_path / "t.xlsx", extra=extra))
    view = load_workbook(out)["表"].sheet_view
    assert view.pane.topLeftCell == "A6"  # two more copies of row 3 above it
    assert view.selection[-1].activeCell == "B9" and view.selection[-1].sqref == "B9"


# --- hostile templates end in a clear error within a time and size budget (issue 11, item 5) -------

NESTED = "{{ " + "(" * 100 + "1" + ")" * 100 + " }}"
RECURSIVE = "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"


@pytest.mark.parametrize("cell, text, expected", [
    ("A3", "{%row for row in range(10**9) %}{{ row }}", "表!A3: 模板错误："),
    ("B1", NESTED, "表!B1: 模板错误："),
    ("B1", RECURSIVE, "表!B1: 模板错误："),
    ("B1", "{{ 'nan'|float }}", "表!B1: 模板错误：数值 nan 无法写入"),
    ("B1", "{{ 'inf'|float }}", "表!B1: 模板错误：数值 inf 无法写入"),
    ("B1", "{{ 10**400 }}", "表!B1: 模板错误：数值 100000000000…（401 位） 无法写入"),
    ("B1", "{{ -2 * 10**308 }}", "表!B1: 模板错误：数值 -20000000000…（310 位） 无法写入"),
    ("B1", "{{ '1e309'|float }}", "表!B1: 模板错误：数值 inf 无法写入"),
    ("B1", "{{ 'a' * 10**10 }}", "表!B1: 模板错误：重复生成的内容过长"),
    ("B1", "{{ [1] * 10**10 }}", "表!B1: 模板错误：重复生成的内容过长"),
    ("B1", "{{ 10**10 * 'a' }}", "表!B1: 模板错误：重复生成的内容过长"),
    ("B1", "{% for a in range(600000) %}{% endfor %}{% for b in range(600000) %}{% endfor %}",
     "表!B1: 模板错误：循环次数过多"),
    ("B1", "{{ year ** year ** year }}", "表!B1: 模板错误：乘方的结果过大"),
    ("B1", "{% for a in range(99999) %}{% for b in range(99999) %}x{% endfor %}{% endfor %}",
     "表!B1: 模板错误：循环次数过多"),
    ("B1", "{{ 'a' * 32767 ~ 'b' }}", "表!B1: 模板错误：结果有 32768 个字符，超过 Excel 单元格的上限 32767"),
], ids=["range", "parentheses", "recursion", "nan", "infinity", "10**400", "-2e308", "1e309", "long-text",
        "long-list", "count-first", "loops-together", "power", "loops", "over-32767"])
def test_hostile_templates_are_refused_naming_the_cell(tmp_path, cell, text, expected):
    def extra(wb):
        wb["表"][cell] = text
    template = make_template(tmp_path / "t.xlsx", extra=extra)
    with pytest.raises(TemplateProblem) as err:
        XlsxTemplate(template).render({**CONTEXT, "year": 2026}, io.BytesIO())
    assert str(err.value).startswith(expected), str(err.value)


def test_numbers_at_excels_limits(tmp_path):
    """The largest double is a number; a whole number of more than 15 digits keeps every digit as text."""
    def extra(wb):
        wb["表"]["B1"] = "{{ 1.7976931348623157e308 }}"
        wb["表"]["C1"] = "{{ 123456789012345678 }}"
        wb["表"]["D1"] = "{{ 123456789012345 }}"
    out = tmp_path / "out.xlsx"
    with open(out, "wb") as f:
        XlsxTemplate(make_template(tmp_path / "t.xlsx", extra=extra)).render(CONTEXT, f)
    sheet = load_workbook(out)["表"]
    assert sheet["B1"].value == 1.7976931348623157e308
    assert sheet["C1"].value == "123456789012345678" and sheet["D1"].value == 123456789012345


def test_the_longest_text_excel_holds_is_written(tmp_path):
    def extra(wb):
        wb["表"]["B1"] = "{{ 'a' * 32767 }}"
    out = tmp_path / "out.xlsx"
    with open(out, "wb") as f:
        XlsxTemplate(make_template(tmp_path / "t.xlsx", extra=extra)).render(CONTEXT, f)
    assert load_workbook(out)["表"]["B1"].value == "a" * 32767


def test_hostile_template_through_the_cli_exits_2(cli, tmp_path):
    from xlpipeline.resources import DEMO_WORKBOOK
    import shutil
    book = tmp_path / "考评.xlsx"
    shutil.copyfile(DEMO_WORKBOOK, book)

    template = tmp_path / "t.xlsx"
    wb = Workbook()
    wb.active.title = "表"
    wb.active["B1"] = "{{ 'a' * 10**10 }}"
    wb.save(template)
    status, _, err = cli("submit", book, "--template", template)
    assert status == 2 and "表!B1: 模板错误：重复生成的内容过长" in err and "Traceback" not in err


def column_template(path):
    """A table whose middle column repeats per score column and whose rows repeat per unit."""
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws["A1"] = "{{ title }}"
    ws.merge_cells("A1:C1")  # a title across the table: widens with the copies
    ws.append(["单位", "{%col for col in cols %}{{ col.title }}", "合计"])
    ws.append(["{%row for unit in units %}{{ unit.name }}", "{{ unit.cells[col.key] }}", "=SUM(B3:B3)"])
    ws.append(["总计", "=SUM(B3:B3)", "=SUM(C3:C3)"])
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 6
    ws.column_dimensions["C"].width = 11
    ws.conditional_formatting.add("B3:B3", CellIsRule(operator="greaterThan", formula=["1"], font=None))
    ws.print_area = "A1:C4"
    wb.save(path)
    return path


COLUMNS = {"title": "汇总", "cols": [{"title": f"第{k}项", "key": k} for k in (1, 2, 3)],
           "units": [{"name": "甲", "cells": {1: 1.5, 2: 0, 3: 2}}, {"name": "乙", "cells": {1: 0.5, 2: 1, 3: 0}}]}


def test_a_repeated_column(tmp_path):
    out = render(column_template(tmp_path / "t.xlsx"), COLUMNS)
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("汇总").to_python()
    assert rows[1] == ["单位", "第1项", "第2项", "第3项", "合计"]
    assert rows[2] == ["甲", 1.5, 0, 2, 3.5] and rows[3] == ["乙", 0.5, 1, 0, 1.5]  # formulas cached
    assert rows[4] == ["总计", 2.0, 1.0, 2.0, 5.0]  # the copy of a formula in the column follows its column
    ws = load_workbook(out)["汇总"]
    assert ws["E3"].value == "=SUM(B3:D3)" and ws["C5"].value == "=SUM(C3:C4)" and ws["E5"].value == "=SUM(E3:E4)"
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:E1"]
    assert [ws.column_dimensions[c].width for c in "ABCDE"] == [14, 6, 6, 6, 11]
    assert [str(r.sqref) for r in ws.conditional_formatting] == ["B3:D4"]
    assert ws.print_area == "'汇总'!$A$1:$E$5"


def test_a_repeated_column_over_nothing_disappears(tmp_path):
    out = render(column_template(tmp_path / "t.xlsx"), {**COLUMNS, "cols": []})
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("汇总").to_python()
    assert rows[1] == ["单位", "合计"] and rows[2] == ["甲", 0] and rows[4] == ["总计", 0]
    assert load_workbook(out)["汇总"]["B3"].value == "=SUM(0)"
