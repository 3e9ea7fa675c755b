"""Shared fixtures: the 2026 rules, fresh working workbooks with given log rows, the CLI, LibreOffice."""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mailserver import PASSWORD, USER, self_signed, start
from xlpipeline.cli import main
from xlpipeline.scoring.engine import Case, Params, Rank
from xlpipeline.workbook.layout import LEDGER, PARAM_RANKS, PARAM_SATISFACTION, PARAMS, param_cell
from xlpipeline.rules import load_rules
from xlpipeline.create import init_workbook


@pytest.fixture(scope="session")
def rules():
    return load_rules(2026)


@pytest.fixture(scope="session")
def blank_workbook(tmp_path_factory, rules) -> Path:
    path = tmp_path_factory.mktemp("blank") / "blank.xlsx"
    init_workbook(path, rules, "市散墙办")
    return path


@pytest.fixture
def make_workbook(tmp_path, blank_workbook):
    """A working workbook with the given 扣分台账 rows (tuples from 日期 on) and 参数 (`rank`: the
    first indicator's place, or both as a pair)."""
    def make(rows=(), satisfaction=None, rank=None, name="考评.xlsx", edit=None) -> Path:
        path = tmp_path / name
        shutil.copyfile(blank_workbook, path)
        wb = load_workbook(path)
        for row in rows:
            wb[LEDGER].append(row)
        wb[PARAMS][param_cell(PARAM_SATISFACTION)] = satisfaction
        for label, place in zip(PARAM_RANKS, both_ranks(rank)):
            wb[PARAMS][param_cell(label)] = place
        if edit:
            edit(wb)
        wb.save(path)
        return path
    return make


@pytest.fixture
def cli(capsys):
    """Run `xlpipeline ARGS…` in-process; returns (exit code, stdout, stderr)."""
    def run(*args) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


def case(code: str, count: int = 1, modifier: str | None = None, when: date = date(2026, 6, 1), row: int = 2) -> Case:
    return Case(row=row, date=when, code=code, count=count, modifier=modifier)


def both_ranks(rank) -> tuple:
    return tuple(rank) if isinstance(rank, (tuple, list)) else (rank, None)


def params(satisfaction=None, rank=None) -> Params:
    """参数 for the engine; `rank` as in make_workbook."""
    return Params("市散墙办", 2026, satisfaction, tuple(Rank(label, place)
                                                      for label, place in zip(PARAM_RANKS, both_ranks(rank))))


SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "ooxml-schemas"


@pytest.fixture(scope="session")
def sml():
    """The SpreadsheetML schema (ISO/IEC 29500 transitional), from ../shared/ooxml-schemas."""
    from lxml import etree
    if not (SCHEMAS / "sml.xsd").exists():
        missing(f"{SCHEMAS} 不存在：需要与项目并列的 shared/ooxml-schemas（SpreadsheetML 架构）")
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "sml.xsd")))


def missing(message: str):
    """Skip for want of something outside the project; under CI (CI=true or XLP_REQUIRE_SOFFICE=1)
    fail instead, so that CI never passes by skipping what it must run."""
    if os.environ.get("CI") == "true" or os.environ.get("XLP_REQUIRE_SOFFICE") == "1":
        pytest.fail(message + "（CI 中不允许跳过）")
    pytest.skip(message)


def _require(tool: str, package: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        missing(f"{tool} 未安装（Debian 软件包 {package}）")
    return exe


def _converter(profile: Path, timeout: int):
    """Convert files with LibreOffice headless (`--convert-to FORMAT`) in one process, with the
    profile given (one per test process); returns the files written."""
    exe = _require("soffice", "libreoffice-calc-nogui")

    def convert(sources: list[Path], fmt: str, outdir: Path) -> list[Path]:
        subprocess.run([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", fmt, "--outdir", str(outdir), *map(str, sources)],
                       check=True, capture_output=True, timeout=timeout)
        outs = [outdir / f"{s.stem}.{fmt.split(':')[0]}" for s in sources]
        missing = [o.name for o in outs if not o.exists()]
        assert not missing, f"LibreOffice wrote no {fmt} for {missing}"
        return outs
    return convert


@pytest.fixture(scope="session")
def soffice(tmp_path_factory):
    """Convert one file with LibreOffice headless: soffice(source, FORMAT, outdir) → the file written."""
    convert = _converter(tmp_path_factory.mktemp("lo-profile"), timeout=180)
    return lambda source, fmt, outdir: convert([source], fmt, outdir)[0]


# LibreOffice's own setting "recalculation on file load: always", for Excel 2007+ and ODF files
RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


@pytest.fixture(scope="session")
def recalculate(tmp_path_factory):
    """Open workbooks in LibreOffice with every formula recalculated on load and save them as
    .xlsx into `outdir` (one process for all of them, with this process's own profile)."""
    profile = tmp_path_factory.mktemp("lo-recalc")
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ALWAYS, encoding="utf-8")
    convert = _converter(profile, timeout=1800)
    return lambda sources, outdir: convert(sources, "xlsx:Calc MS Excel 2007 XML", outdir)


@pytest.fixture(scope="session")
def gnumeric():
    """Recalculate a workbook with Gnumeric (`ssconvert --recalc`), a spreadsheet engine that parses
    less than Excel, WPS and LibreOffice do: sheet name → rows of the values it shows (CSV text)."""
    exe = _require("ssconvert", "gnumeric")

    def recalc(source: Path, outdir: Path) -> dict[str, list[list[str]]]:
        outdir.mkdir(parents=True, exist_ok=True)
        subprocess.run([exe, "--recalc", "-S", str(source), str(outdir / "%s.csv")],
                       check=True, capture_output=True, timeout=300)
        return {f.stem: list(csv.reader(f.open(encoding="utf-8", newline=""))) for f in outdir.glob("*.csv")}
    return recalc


@pytest.fixture(scope="session")
def to_pdf(soffice):
    _require("pdfinfo", "poppler-utils")
    return lambda workbook: soffice(workbook, "pdf", workbook.parent / "pdf")


def pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True).stdout
    return text.decode("utf-8").split("\f")[:-1]


def printed(phrase: str, text: str, gap: int = 60) -> bool:
    """Whether `phrase` is printed in a PDF's text: its characters in order, whitespace aside, with up
    to `gap` characters between two of them — where a cell's text wraps, pdftotext may read the line
    of a neighbouring cell in between."""
    chars = [re.escape(ch) for ch in re.sub(r"\s+", "", phrase)]
    return re.search(f".{{0,{gap}}}".join(chars), re.sub(r"\s+", "", text), re.S) is not None


def pdf_page_sizes(pdf: Path) -> list[tuple[float, float]]:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True).stdout
    sizes = []
    for line in out.decode().splitlines():
        if line.startswith("Page") and "size:" in line:
            w, _, h = line.split("size:")[1].split()[:3]
            sizes.append((float(w), float(h)))
    return sizes


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(request, certificate, monkeypatch):
    """A running server; the environment points xlpipeline at it. The test's param is the security
    mode, optionally with `+nologin` (no user set: a relay taking mail without login) and `+helo`
    (a server refusing EHLO)."""
    mode, *flags = getattr(request, "param", "starttls").split("+")
    controller, recorder = start(mode, *certificate, helo_only="helo" in flags)
    monkeypatch.setenv("XLP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("XLP_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("XLP_SMTP_SECURITY", mode)
    monkeypatch.setenv("XLP_SMTP_CAFILE", str(certificate[0]))
    if "nologin" in flags:
        monkeypatch.delenv("XLP_SMTP_USER", raising=False)
    else:
        monkeypatch.setenv("XLP_SMTP_USER", USER)
        monkeypatch.setenv("XLP_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("XLP_SMTP_TIMEOUT", "10")
    monkeypatch.setenv("XLP_MAIL_FROM", "zhb@example.com")
    monkeypatch.setenv("XLP_MAIL_FROM_NAME", "市散墙办综合科")
    yield recorder
    controller.stop()
