"""The XLP_ worksheet functions, registered with xlwings (Windows Excel; UDFs need its COM server).

Each is a one-line wrapper: `xlpipeline.excel.functions` computes, and is what the tests call.
Import this module in the add-in's xlwings settings (UDF Modules: xlpipeline.excel.udfs).
"""
from __future__ import annotations

import xlwings as xw

from xlpipeline.excel import functions
from xlpipeline.excel.adapter import ExcelBook


def _book(caller) -> ExcelBook:
    """The workbook of the calling cell. xlwings hands over a COM range on Windows."""
    sheet = getattr(caller, "sheet", None)
    if sheet is not None:
        return ExcelBook(sheet.book)
    return ExcelBook(xw.Book(caller.Worksheet.Parent.FullName))


@xw.func(volatile=True)
def XLP_SCORE(item, caller):
    """所在分块的得分。参数：指标序号。"""
    return functions.block_score(_book(caller), item)


@xw.func(volatile=True)
def XLP_DEDUCTION(item, caller):
    """该项扣分（第22项为加分）。参数：指标序号。"""
    return functions.deduction(_book(caller), item)


@xw.func(volatile=True)
def XLP_TOTAL(caller):
    """总分（含加分）。"""
    return functions.total(_book(caller))


@xw.func(volatile=True)
def XLP_EXPLAIN(item, caller):
    """该项的扣分说明。参数：指标序号。"""
    return functions.explain(_book(caller), item)


@xw.func(volatile=True)
def XLP_CODE_POINTS(code, caller):
    """情形代码每起的分值。参数：情形代码（如 9.D）。"""
    return functions.code_points(_book(caller), code)
