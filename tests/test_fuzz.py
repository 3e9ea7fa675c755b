"""Seeded fuzzing of the package gate and every part `score` reads or patches (issue 11).

Each mutant of a small working workbook is scored in process. Whatever the damage, the run ends
with exit 0, 1 or 2 and a message, never a traceback (exit 4); on an error the file is unchanged;
a workbook we wrote opens in LibreOffice. A mutant that once crashed is kept in `regressions/`.
"""
from __future__ import annotations

import io
import json
import random
import re
import shutil
import struct
import zipfile
from datetime import date
from pathlib import Path

import pytest

SEED, MUTANTS = 20261126, 160
REGRESSIONS = Path(__file__).parent / "regressions"
XML_PARTS = ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
             "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml",
             "xl/worksheets/sheet5.xml", "xl/worksheets/sheet6.xml", "xl/worksheets/sheet7.xml")
GARBAGE = ("", "abc", "-1", "0", "1e309", "NaN", "A0", "XFD1048577", "99999999999", "&amp;", "é", "\u202e", " 1")


def mutate_xml(rng: random.Random, xml: bytes) -> bytes:
    text = xml.decode("utf-8", "replace")
    kind = rng.randrange(6)
    if kind == 0:  # an attribute value replaced
        attrs = list(re.finditer(r'(\w+)="([^"]*)"', text))
        if attrs:
            m = rng.choice(attrs)
            text = text[:m.start(2)] + rng.choice(GARBAGE) + text[m.end(2):]
    elif kind == 1:  # a span deleted
        a = rng.randrange(len(text))
        text = text[:a] + text[a + rng.randrange(1, 200):]
    elif kind == 2:  # a span duplicated
        a = rng.randrange(len(text))
        b = min(len(text), a + rng.randrange(1, 400))
        text = text[:b] + text[a:b] + text[b:]
    elif kind == 3:  # an element renamed
        tags = list(re.finditer(r"<(\w+)", text))
        if tags:
            m = rng.choice(tags)
            text = text[:m.start(1)] + rng.choice(("row", "c", "v", "sheet", "x", "f", "is")) + text[m.end(1):]
    elif kind == 4:  # cut short
        text = text[:rng.randrange(len(text))]
    else:  # a number changed
        numbers = list(re.finditer(r"\d+", text))
        if numbers:
            m = rng.choice(numbers)
            text = text[:m.start()] + rng.choice(("0", "1048577", "16385", "2", "-5", "4294967296")) + text[m.end():]
    return text.encode("utf-8")


def mutate_zip(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = rng.choice(z.infolist())
    central = struct.unpack_from("<L", data, len(data) - 6)[0]
    header = rng.choice((info.header_offset, central, len(data) - 22))  # local, directory, end record
    for _ in range(rng.randrange(1, 4)):
        at = header + rng.randrange(4, 30)
        if at < len(data):
            data[at] = rng.randrange(256)
    return bytes(data)


def mutant(rng: random.Random, source: bytes, parts: tuple[str, ...] = XML_PARTS) -> bytes:
    if rng.random() < 0.3:
        return mutate_zip(rng, source)
    part = rng.choice(parts)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info)
            zout.writestr(info, mutate_xml(rng, body) if info.filename == part else body)
    return out.getvalue()


@pytest.fixture(scope="module")
def seed_workbook(tmp_path_factory, blank_workbook):
    from openpyxl import load_workbook
    from xlpipeline.workbook.layout import LEDGER, PARAMS, PARAM_SATISFACTION, param_cell
    path = tmp_path_factory.mktemp("fuzz") / "seed.xlsx"
    shutil.copyfile(blank_workbook, path)
    wb = load_workbook(path)
    for row in [(date(2026, 3, 1), None, "9.D", 3, None, "说明"), (date(2026, 4, 2), 12, "12.B", 1, "非市管干部")]:
        wb[LEDGER].append(row)
    wb[PARAMS][param_cell(PARAM_SATISFACTION)] = 92.5
    wb.save(path)
    return path.read_bytes()


def check(cli, path: Path) -> bool:
    """Score one file; True when it was written (for LibreOffice to open)."""
    before = path.read_bytes()
    status, out, err = cli("score", path)
    assert status in (0, 1, 2) and "Traceback" not in err + out, f"{path.name}: exit {status}\n{err}"
    if status != 0:
        assert path.read_bytes() == before, path.name
        assert err.strip(), path.name
    return status == 0


def test_mutated_workbooks_end_in_a_result_or_a_message(cli, seed_workbook, tmp_path, recalculate):
    rng = random.Random(SEED)
    written = []
    for n in range(MUTANTS):
        path = tmp_path / f"m{n:03}.xlsx"
        path.write_bytes(mutant(rng, seed_workbook))
        if check(cli, path):
            written.append(path)
    assert written, "no mutant was scored: the mutations are too coarse to reach the writers"
    (tmp_path / "lo").mkdir()
    recalculate(written, tmp_path / "lo")  # fails unless LibreOffice wrote every one back


@pytest.mark.parametrize("path", sorted(REGRESSIONS.glob("*.xlsx")), ids=lambda p: p.name)
def test_files_that_once_crashed(cli, path, tmp_path):
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    check(cli, copy)


ATTACHMENT_PARTS = ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                    "xl/styles.xml", "xl/worksheets/sheet1.xml", "customXml/item1.xml", "customXml/item1.xml")


def test_mutated_attachments_are_counted_or_listed(cli, tmp_path):
    """`collect` reads what strangers send: every mutant of an attachment (its zip headers, its
    form, its embedded data) is counted or listed as not counted, never a crash (issue 10)."""
    from xlpipeline.resources import DEMO_WORKBOOK
    seed = tmp_path / "seed.xlsx"
    assert cli("submit", DEMO_WORKBOOK, "--out", seed)[0] == 0
    source = seed.read_bytes()
    rng = random.Random(SEED + 10)
    (tmp_path / "in").mkdir()
    outcomes = set()
    for n in range(MUTANTS // 2):
        path = tmp_path / "in" / f"a{n:03}.xlsx"
        path.write_bytes(mutant(rng, source, ATTACHMENT_PARTS))
        status, out_text, err = cli("collect", path, "--out", tmp_path / "汇总.xlsx", "--json")
        assert status in (0, 1) and "Traceback" not in err + out_text and "内部错误" not in err, f"{path.name}: {err}"
        result = json.loads(out_text)
        assert len(result["units"]) + sum(not p["counted"] for p in result["problems"]) >= 1, path.name
        outcomes.add(status)
    assert outcomes == {0, 1}  # some mutants still count, some are refused


def test_collect_lists_every_file_that_once_crashed(cli, tmp_path):
    status, out, err = cli("collect", REGRESSIONS, "--out", tmp_path / "汇总.xlsx", "--json")
    assert status == 1 and "Traceback" not in err
    listed = {Path(p["file"]).name for p in json.loads(out)["problems"] if not p["counted"]}
    assert listed == {p.name for p in REGRESSIONS.glob("*.xlsx")}


def mutate_email(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # bytes overwritten
        for _ in range(rng.randrange(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:  # a span deleted
        at = rng.randrange(len(data))
        del data[at:at + rng.randrange(1, 3000)]
    elif kind == 2:  # header trouble inserted
        at = rng.randrange(max(1, data.find(b"\n\n") if b"\n\n" in data else 2000))
        data[at:at] = rng.choice([b"=?utf-8?b?###?=", b"\r\n", b"filename*=gbk''%ZZ", b'; name="', b'boundary=""'])
    else:  # cut short
        data = data[:rng.randrange(len(data))]
    return bytes(data)


def test_mutated_emails_are_counted_or_listed(cli, tmp_path):
    from email.message import EmailMessage
    from xlpipeline.resources import DEMO_WORKBOOK
    attachment = tmp_path / "附件1.xlsx"
    assert cli("submit", DEMO_WORKBOOK, "--out", attachment)[0] == 0
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "自评材料", "a@example.org", "b@example.org"
    message.set_content("见附件")
    message.add_attachment(attachment.read_bytes(), maintype="application", subtype="octet-stream",
                           filename="附件1_市散墙办_2026年.xlsx")
    rng = random.Random(SEED + 20)
    for n in range(MUTANTS // 4):
        path = tmp_path / f"m{n:03}.eml"
        path.write_bytes(mutate_email(rng, bytes(message)))
        status, out, err = cli("collect", path, "--out", tmp_path / "汇总.xlsx", "--json")
        assert status in (0, 1) and "Traceback" not in err + out and "内部错误" not in err, f"{path.name}: {err}"
