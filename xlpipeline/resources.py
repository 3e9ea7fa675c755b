"""Files that ship with the package: the 附件1 template and the demo workbook.

In a wheel they sit in `xlpipeline/_data/` (see pyproject's force-include); in a source
checkout they are the top-level `templates/` and `workbooks/` folders.
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
