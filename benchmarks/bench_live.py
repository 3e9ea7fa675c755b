"""Benchmark the live formulas: LibreOffice loading a working workbook and recalculating every
formula, with logs of 1,000 / 10,000 / 100,000 rows.

The baseline, measured in the same run, is LibreOffice loading the same workbook with the formulas
taken out (their cached values left), converted the same way. Figures are ratios to it; the aim is
≤ 1.5× at 10,000 rows. Needs `soffice` (libreoffice-calc-nogui). Usage:
python benchmarks/bench_live.py [ROWS …]
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from lxml import etree

from common import make_workbook
from xlpipeline.ooxml.parts import q, sheet_parts

SIZES = (1_000, 10_000, 100_000)
RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


def without_formulas(source: Path, target: Path) -> None:
    """The same package with every <f> removed (cached values stay)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        parts = set(sheet_parts(zin).values())
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in parts and b"<f>" in data:
                root = etree.fromstring(data)
                for f in list(root.iter(q("f"))):
                    f.getparent().remove(f)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            zout.writestr(info.filename, data)


def load_and_recalculate(soffice: str, profile: Path, source: Path, outdir: Path) -> float:
    start = time.perf_counter()
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir), str(source)],
                   check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - start


def main(sizes: tuple[int, ...]) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        sys.exit("需要 LibreOffice（soffice），Debian 软件包 libreoffice-calc-nogui")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        profile = folder / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ALWAYS, encoding="utf-8")
        print(f"{'rows':>8} {'no formulas (s)':>16} {'live formulas':>14}")
        for rows in sizes:
            live = folder / f"live{rows}.xlsx"
            make_workbook(live, rows)
            plain = folder / f"plain{rows}.xlsx"
            without_formulas(live, plain)
            out = folder / "out"
            baseline = min(load_and_recalculate(soffice, profile, plain, out) for _ in range(2))  # 1st: warm-up
            measured = min(load_and_recalculate(soffice, profile, live, out) for _ in range(2))
            print(f"{rows:>8} {baseline:>16.2f} {measured / baseline:>13.2f}×")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
