Attribute VB_Name = "XlpRibbon"
' Ribbon callbacks of the xlpipeline add-in (tab defined in customUI14.xml).
' Each one runs the same Python function as the command line, through xlwings' RunPython.
Option Explicit

Sub XlpRecalculate(control As IRibbonControl)
    RunPython "import xlpipeline.excel.entry as e; e.recalculate()"
End Sub

Sub XlpCheckLog(control As IRibbonControl)
    RunPython "import xlpipeline.excel.entry as e; e.check_log()"
End Sub

Sub XlpSubmit(control As IRibbonControl)
    RunPython "import xlpipeline.excel.entry as e; e.make_submit()"
End Sub

Sub XlpBatchByDepartment(control As IRibbonControl)
    RunPython "import xlpipeline.excel.entry as e; e.make_batch_by_department()"
End Sub

Sub XlpBatchByLeader(control As IRibbonControl)
    RunPython "import xlpipeline.excel.entry as e; e.make_batch_by_leader()"
End Sub

Sub XlpBatchByAssessor(control As IRibbonControl)
    RunPython "import xlpipeline.excel.entry as e; e.make_batch_by_assessor()"
End Sub

Sub XlpBatchByIndicator(control As IRibbonControl)
    RunPython "import xlpipeline.excel.entry as e; e.make_batch_by_indicator()"
End Sub

Sub XlpSendToAssessors(control As IRibbonControl)
    RunPython "import xlpipeline.excel.entry as e; e.send_to_assessors()"
End Sub
