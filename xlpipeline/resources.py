"""Files that ship with the package: the 附件1 template, the demo workbook, the add-in's ribbon.

In a wheel they sit in `xlpipeline/_data/` (see pyproject's force-include); in a source
checkout they are the top-level `templates/`, `workbooks/` and `macros/` folders.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "_data"
_SOURCE = Path(__file__).resolve().parent.parent


def data_file(folder: str, name: str) -> Path:
    packaged = _PACKAGED / folder / name
    return packaged if packaged.exists() else _SOURCE / folder / name


TEMPLATE = data_file("templates", "附件1_template.xlsx")
DEMO_WORKBOOK = data_file("workbooks", "模范机关考评_演示.xlsx")
CUSTOM_UI = data_file("macros", "customUI14.xml")
RIBBON_VBA = data_file("macros", "xlpipeline_ribbon.bas")
ROLLUP_TEMPLATE = data_file("templates", "汇总_template.xlsx")
