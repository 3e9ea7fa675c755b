"""Inside Excel: the adapter over xlwings' Book, the ribbon's entry points, and the XLP_ UDFs.

Everything here is a thin layer over the library the command line uses; only reading and writing
cells differs (see `xlpipeline.workbook.book`).
"""
