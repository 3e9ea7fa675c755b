"""The folders show the layers, and imports run only downward (README, "Code layout")."""
from __future__ import annotations

import ast
from pathlib import Path

import xlpipeline

ROOT = Path(xlpipeline.__file__).parent
# layer -> what it may import (besides itself); a top-level module is its own layer
MAY_IMPORT = {
    "errors": set(), "names": set(), "resources": set(), "sandbox": set(), "progress": set(),
    "rules": {"errors"},
    "ooxml": {"errors"},
    "workbook": {"errors", "ooxml", "rules"},
    "scoring": {"errors", "ooxml", "rules", "workbook", "sandbox"},
    "writeback": {"errors", "ooxml", "rules", "workbook", "scoring", "sandbox"},
    "pipeline": {"errors", "ooxml", "rules", "workbook", "scoring", "writeback", "sandbox"},
    "create": {"errors", "ooxml", "rules", "workbook", "scoring", "writeback", "sandbox"},
    "outputs": {"errors", "names", "resources", "ooxml", "rules", "workbook", "scoring", "writeback", "pipeline",
                "sandbox", "progress"},
    "frames": {"errors", "ooxml", "rules", "workbook", "scoring", "pipeline", "outputs"},
}
FRONT_ENDS = {"mail", "excel", "web", "wps", "cli", "__main__", "__init__"}
DATA = "_data"  # an installed package's templates, demo and macros (with the demo's build script): not code


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xlpipeline."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "xlpipeline":
            found.update(alias.name for alias in node.names if not alias.name.startswith("__"))  # __version__
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("xlpipeline."))
    return found


def test_imports_run_downward():
    wrong = []
    for path in ROOT.rglob("*.py"):
        own = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if own in FRONT_ENDS or own == DATA:
            continue
        assert own in MAY_IMPORT, f"{path}: 新模块不属于任何一层，请在 MAY_IMPORT 中登记"
        wrong += [f"{path.relative_to(ROOT)} → {name}" for name in imports(path) - MAY_IMPORT[own] - {own}]
    assert not wrong


def test_the_checker_sees_an_upward_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from xlpipeline.scoring.engine import score\nimport xlpipeline.outputs.pdf\n", encoding="utf-8")
    assert imports(probe) == {"scoring", "outputs"}
