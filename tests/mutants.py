"""Put each deliberate bug below into a copy of the project, run the tests that should notice it,
and report the ones that survive (issue 16). Not a test itself: run it by hand after changing tests.

    .venv/bin/python tests/mutants.py            # every mutant
    .venv/bin/python tests/mutants.py fsync mode # those whose name contains one of these words

Each mutant is one exact text replacement; a replacement that no longer matches the code is reported
as stale, so the list cannot quietly stop testing anything. Exit status: the number of survivors
and stale mutants (0: every bug was caught).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]  # pytest arguments: files, node ids or -k expressions


MUTANTS = [
    Mutant("engine: item cap reached exactly counts as cut", "xlpipeline/scoring/engine.py",
           "if counted > item.cap - used:", "if counted >= item.cap - used:", ("tests/test_engine.py",)),
    Mutant("engine: code cap reached exactly counts as cut", "xlpipeline/scoring/engine.py",
           "if counted > room:", "if counted >= room:", ("tests/test_engine.py",)),
    Mutant("engine: a block below zero", "xlpipeline/scoring/engine.py",
           "max(ZERO, block.points - deducted))", "block.points - deducted)", ("tests/test_engine.py",)),
    Mutant("engine: the survey converts a negative remainder", "xlpipeline/scoring/engine.py",
           "remaining = max(ZERO, block.points - deducted)", "remaining = block.points - deducted",
           ("tests/test_engine.py",)),
    Mutant("engine: the bonus cap ignored", "xlpipeline/scoring/engine.py",
           'bonus = min(rules.bonus_cap, sum((i.amount for i in items if i.kind == "bonus"), ZERO))',
           'bonus = sum((i.amount for i in items if i.kind == "bonus"), ZERO)', ("tests/test_engine.py",)),
    Mutant("safesave: no fsync of the temp file", "xlpipeline/ooxml/safesave.py",
           "            os.fsync(handle.fileno())\n", "", ("tests/test_safesave.py",)),
    Mutant("safesave: no fsync of the folder", "xlpipeline/ooxml/safesave.py",
           "    _fsync_dir(folder)\n    return kept", "    return kept", ("tests/test_safesave.py",)),
    Mutant("safesave: the replaced file loses its mode", "xlpipeline/ooxml/safesave.py",
           "            shutil.copymode(path, temp)\n", "            pass\n", ("tests/test_safesave.py",)),
    Mutant("safesave: the temp file is left behind when writing fails", "xlpipeline/ooxml/safesave.py",
           "        temp.unlink(missing_ok=True)\n        raise", "        raise", ("tests/test_safesave.py",)),
    Mutant("mail: a message a killed run was sending is sent again", "xlpipeline/mail/outbox.py",
           "WHERE state = 'sending'", "WHERE state = 'never'",
           ("tests/test_send_processes.py", "-k", "holds")),
    Mutant("mail: a refused message is recorded as sent", "xlpipeline/mail/__init__.py",
           'outcome, detail = "failed", str(exc)', 'outcome, detail = "sent", str(exc)', ("tests/test_send.py",)),
    Mutant("xltemplate: the fast lookup skips the sandbox", "xlpipeline/outputs/xltemplate/cells.py",
           "value = found if ENV.is_safe_attribute(value, name, found) else _MISSING", "value = found",
           ("tests/test_xltemplate.py",)),
    Mutant("XLP_SCORE: the next item's block", "xlpipeline/excel/functions.py",
           "block = e.rules.item(_item(e, item)).block", "block = e.rules.item(min(_item(e, item) + 1, 21)).block",
           ("tests/test_excel.py",)),
    Mutant("writeback: 合计 扣分 includes the bonus", "xlpipeline/writeback.py",
           'form_cells[f"I{form.total_row}"] = results.deduction',
           'form_cells[f"I{form.total_row}"] = results.deduction + results.bonus', ("tests/test_writeback.py",)),
    Mutant("addsheets: the user's defined names are dropped", "xlpipeline/ooxml/addsheets.py",
           "        for name in donor.defined_names:\n",
           "        for old in list(defined):\n            defined.remove(old)\n"
           "        for name in donor.defined_names:\n", ("tests/test_corpus.py",)),
    Mutant("addsheets: the user's number format 164 is reused", "xlpipeline/ooxml/addsheets.py",
           'next_id = max([163] + [attr_int(f, "numFmtId") for f in formats.findall(q("numFmt"))]) + 1',
           "next_id = 164", ("tests/test_corpus.py",)),
    Mutant("cli: demo keeps no backup of a file --force replaces", "xlpipeline/cli.py",
           "lambda handle: handle.write(DEMO_WORKBOOK.read_bytes()))",
           "lambda handle: handle.write(DEMO_WORKBOOK.read_bytes()), backup=False)", ("tests/test_cli.py",)),
    Mutant("cli: demo and template build ignore --force", "xlpipeline/cli.py",
           "if path.exists() and not force:", "if path.exists():", ("tests/test_cli.py",)),
    Mutant("cli: demo and template build overwrite without --force", "xlpipeline/cli.py",
           "if path.exists() and not force:", "if False:", ("tests/test_cli.py",)),
    Mutant("zipwrite: unchanged parts recompressed", "xlpipeline/ooxml/zipwrite.py",
           "            writer.copy(source, info)\n", "            writer.add(info, package.read(info.filename))\n",
           ("tests/test_writeback.py", "tests/test_corpus.py")),
    Mutant("safesave: a workbook changed since it was read is replaced all the same", "xlpipeline/ooxml/safesave.py",
           "if (digest is not None and source.digest != digest) or not source.is_at(path, content=False):",
           "if False:", ("tests/test_races.py",)),
    Mutant("safesave: the swap does not check what it took out of the name", "xlpipeline/ooxml/safesave.py",
           "    if source.is_at(temp):  # `temp` now names", "    if True:  # `temp` now names",
           ("tests/test_races.py",)),
    Mutant("package: a damaged part we would only copy passes the gate", "xlpipeline/ooxml/package.py",
           "if (crc, size) != (info.CRC, info.file_size):", "if False:", ("tests/test_hostile.py",)),
    Mutant("collect: equal totals get different ranks", "xlpipeline/outputs/collect/rollup.py",
           'rank(method="min", ascending=False)', 'rank(method="first", ascending=False)',
           ("tests/test_collect.py::test_the_city_rolls_up_to_each_units_own_score",)),
    Mutant("collect: the visible form is not compared with the embedded data",
           "xlpipeline/outputs/collect/submission.py",
           "if now[\"items\"].get(no) != value]", "if False]", ("tests/test_collect.py::test_tampered_inputs_are_each_reported",)),
    Mutant("collect: a resubmission keeps the older one", "xlpipeline/outputs/collect/rollup.py",
           "s.source.time), reverse=True)", "s.source.time))", ("tests/test_collect.py::test_tampered_inputs_are_each_reported",)),
    Mutant("collect: a file of another year counts", "xlpipeline/outputs/collect/rollup.py",
           "if s.year is not None and s.year != rules.year:", "if False:",
           ("tests/test_collect.py::test_tampered_inputs_are_each_reported",)),
    Mutant("templates: a chart's range does not follow the repeated rows", "xlpipeline/outputs/xltemplate/charts.py",
           "area = shift_ranges(area, rows) or _first_cells(area, rows)", "area = area",
           ("tests/test_collect.py::test_every_part_of_the_rollup_is_valid",)),
    Mutant("sandbox: a repeated string is not bounded", "xlpipeline/sandbox.py",
           "len(text) * times > MAX_TEXT:", "len(text) * times > MAX_TEXT * 10**12:", ("tests/test_xltemplate.py",)),
    Mutant("cells: a cell beyond column Z leaves the sheet to calamine", "xlpipeline/ooxml/cells.py",
           "r=\"(?:[A-Z]{2}|", "r=\"(?:[A-Z]{4}|", ("tests/test_huge_sheets.py",)),
    Mutant("web: any Host accepted (DNS rebinding)", "xlpipeline/web/guard.py",
           'if headers.get("host") not in self.hosts:', "if False:",
           ("tests/test_web_security.py", "-k", "foreign_host")),
    Mutant("web: the token cookie is not checked", "xlpipeline/web/guard.py",
           "if not same(cookie[COOKIE].value if COOKIE in cookie else None, self.token):", "if False:",
           ("tests/test_web_security.py", "-k", "token_is_needed")),
    Mutant("web: a form's CSRF token is not checked", "xlpipeline/web/app.py",
           'if not same(form.get("csrf") if isinstance(form.get("csrf"), str) else None, st(request).csrf):',
           "if False:", ("tests/test_web_security.py", "-k", "csrf")),
    Mutant("web: a POST from another origin is taken", "xlpipeline/web/guard.py",
           "if (origin is not None and origin not in self.origins) or \\", "if False and \\",
           ("tests/test_web_security.py", "-k", "csrf")),
    Mutant("web: no upload limit", "xlpipeline/web/guard.py",
           "if int(length) > self.max_upload:", "if False:", ("tests/test_web_security.py", "-k", "huge_upload")),
    Mutant("web: workbook text rendered as markup", "xlpipeline/web/app.py",
           "autoescape=select_autoescape(default=True)", "autoescape=False",
           ("tests/test_web.py", "-k", "shown_not_run")),
    Mutant("web: a double click starts a second job", "xlpipeline/web/jobs.py",
           "        if key in self._busy:", "        if False:", ("tests/test_web_security.py", "-k", "double_click")),
    Mutant("web: an uploaded copy skips the package gate", "xlpipeline/web/workbook.py",
           "        review(FileBook(path))  # the package gate", "        pass  # the package gate",
           ("tests/test_web_security.py", "-k", "package_gate")),

    Mutant("ledger: a date typed as text counts as live", "xlpipeline/scoring/ledger.py",
           "row_no <= LAST_ROW and type(raw_date) is not str and", "row_no <= LAST_ROW and",
           ("tests/test_live.py", "-k", "flagged")),

    Mutant("package: strong encryption (flag bit 6) passes the gate", "xlpipeline/ooxml/package.py",
           "if info.flag_bits & (ENCRYPTED | STRONG_ENCRYPTION):", "if info.flag_bits & ENCRYPTED:",
           ("tests/test_hostile.py", "-k", "member_flags")),
    Mutant("parts: a number beyond a double is written", "xlpipeline/ooxml/parts.py",
           "if not number.is_finite() or abs(number) > MAX_NUMBER:", "if not number.is_finite():",
           ("tests/test_xltemplate.py", "-k", "hostile")),
    Mutant("parts: an 18-digit whole number loses its last digits", "xlpipeline/ooxml/parts.py",
           "and len(number.normalize().as_tuple().digits) > EXACT_DIGITS:", "and False:",
           ("tests/test_xltemplate.py", "-k", "limits")),

    # issue 27, item 4: bugs the tests once let through
    Mutant("demo: the build script saves without scoring", "workbooks/build_demo.py",
           "    score_workbook(path)  # 扣分说明", "    pass  # 扣分说明", ("tests/test_demo.py", "-k", "build_script")),
    Mutant("collect: another version of the rules is recomputed as if the same", "xlpipeline/outputs/collect/submission.py",
           "if submission.rules_digest != rules.digest:", "if False:", ("tests/test_collect.py", "-k", "other_rules")),
    Mutant("collect: the visible 合计 is not compared", "xlpipeline/outputs/collect/submission.py",
           'if written["total"] != now["total"]:', "if False:", ("tests/test_collect.py", "-k", "visible_total")),
    Mutant("collect: 单项统计's means round half to even", "xlpipeline/outputs/collect/rollup.py",
           '"mean": cents(sum(amounts, ZERO) / len(amounts)) if amounts else ZERO,',
           '"mean": (sum(amounts, ZERO) / len(amounts)).quantize(Decimal("0.01")) if amounts else ZERO,',
           ("tests/test_collect.py", "-k", "half_up")),
    Mutant("collect: a hand-filled amount rounds half to even", "xlpipeline/outputs/formread.py",
           "return cents(number) if number is not None", 'return number.quantize(Decimal("0.01")) if number is not None',
           ("tests/test_collect.py", "-k", "half_up")),
    Mutant("frames: results_frame ignores the assessor", "xlpipeline/frames.py",
           "collected = collect([Path(p) for p in paths], assessor, year, progress=False)",
           "collected = collect([Path(p) for p in paths], None, year, progress=False)",
           ("tests/test_collect.py", "-k", "frames")),
    Mutant("package: a DOCTYPE across two read chunks is missed", "xlpipeline/ooxml/package.py",
           "if xml and has_dtd(tail + piece):", "if xml and has_dtd(piece):", ("tests/test_hostile.py", "-k", "across")),
    Mutant("mail: the outbox key ignores the attachments' digest", "xlpipeline/mail/__init__.py",
           '",".join(sorted(m.address for m in r.to + r.cc)), digest])',
           '",".join(sorted(m.address for m in r.to + r.cc))])', ("tests/test_send.py", "-k", "rescored")),
    Mutant("mail: the outbox is not written durably", "xlpipeline/mail/outbox.py",
           "PRAGMA synchronous=FULL", "PRAGMA synchronous=OFF", ("tests/test_send.py", "-k", "durably")),
    Mutant("sandbox: a count before the string is not bounded", "xlpipeline/sandbox.py",
           "for text, times in ((left, right), (right, left)):", "for text, times in ((left, right),):",
           ("tests/test_xltemplate.py", "-k", "hostile")),
    Mutant("sandbox: range() steps are bounded per loop, not per render", "xlpipeline/sandbox.py",
           "if len(numbers) > MAX_STEPS - self.steps:", "if len(numbers) > MAX_STEPS:",
           ("tests/test_xltemplate.py", "-k", "hostile")),

    Mutant("wps: text is written without its apostrophe", "xlpipeline/wps/static/main.js",
           """if (e.text !== undefined) cell.Value2 = "'" + e.text;""", "if (e.text !== undefined) cell.Value2 = e.text;",
           ("tests/test_wps.py", "-k", "filebook")),
    Mutant("wps: a value is written over a formula", "xlpipeline/wps/static/main.js",
           "const refused = formulaCells(book, plan.edits);", "const refused = [];",
           ("tests/test_wps.py", "-k", "formula")),
    Mutant("wps: unsaved changes are not saved first", "xlpipeline/wps/static/main.js",
           "    book.Save();\n", "", ("tests/test_wps.py", "-k", "unsaved")),
    Mutant("web: the WPS link's token is not checked", "xlpipeline/web/guard.py",
           'if method != "POST" or not same(headers.get(WPS_HEADER), self.wps_token):', 'if method != "POST":',
           ("tests/test_wps.py", "-k", "token")),

    # issue 25, items 4 and 5
    Mutant("cli: submit reads a workbook open in Excel/WPS/LibreOffice", "xlpipeline/cli.py",
           "from xlpipeline.outputs.render import submit\n    check_not_open(args.workbook)\n",
           "from xlpipeline.outputs.render import submit\n", ("tests/test_writeback.py", "-k", "open_elsewhere")),
    Mutant("cli: collect --json alone writes the roll-up", "xlpipeline/cli.py",
           "out = args.out or (None if args.json and not args.pdf else Path(ROLLUP_NAME))",
           "out = args.out or Path(ROLLUP_NAME)", ("tests/test_collect.py", "-k", "surprise")),
    Mutant("collect: the roll-up is replaced before its PDF exists", "xlpipeline/outputs/collect/__init__.py",
           "    made = None\n    if pdf:", "    replace_file(out, lambda handle: handle.write(content.getvalue()))\n"
           "    made = None\n    if pdf:", ("tests/test_collect.py", "-k", "surprise")),

    Mutant("ledger: 满意度 typed as text is read (the live formulas do not count it)", "xlpipeline/scoring/ledger.py",
           "        if typed is not None:  # the live formulas count no text", "        if False:  # the live formulas count no text",
           ("tests/test_ledger.py", "-k", "bad_parameters")),

    # issue 26, items 1–3
    Mutant("excel: xlwings' wrapped Nothing taken for a workbook", "xlpipeline/excel/entry.py",
           "    if app.api.ActiveWorkbook is None:\n", "    if False:\n", ("tests/test_excel.py", "-k", "no_workbook")),
    Mutant("excel: xlwings' OneDrive error not caught", "xlpipeline/excel/entry.py",
           'if type(exc).__name__ != "XlwingsError":', "if True:", ("tests/test_excel.py", "-k", "onedrive")),
    Mutant("excel: reinstalling over a held add-in", "xlpipeline/excel/addin.py",
           "    except PermissionError:  # Windows", "    except LookupError:  # Windows",
           ("tests/test_excel.py", "-k", "reinstalling")),

    # issue 26, items 4 and 5
    Mutant("excel: a setting xlwings' VBA reads is left to the user's file", "xlpipeline/excel/addin.py",
           "    if unknown:\n        raise UserError(f\"此版本", "    if False:\n        raise UserError(f\"此版本",
           ("tests/test_excel.py", "-k", "do_not_know")),
    Mutant("excel: the DLL is not looked for", "xlpipeline/excel/addin.py",
           "if not any((place / name).exists() for place in places for name in names):", "if False:",
           ("tests/test_excel.py", "-k", "dll")),
    Mutant("excel: any xlwings version is built with", "xlpipeline/excel/addin.py",
           "if not SUPPORTED[0] <= numbers < SUPPORTED[1]:", "if False:", ("tests/test_excel.py", "-k", "unsupported")),

    Mutant("pdf: LibreOffice converts without our font mapping", "xlpipeline/outputs/pdf.py",
           "env=fontconfig(Path(profile)))", "env=dict(os.environ))",
           ("tests/test_outputs.py", "-k", "submit_and_batch_pdf")),
    Mutant("pdf: the official families' Noto stand-ins in their Japanese faces", "xlpipeline/outputs/pdf.py",
           '+ "".join(f"<family>{face}</family>" for face in faces)',
           '+ "".join(f"<family>{face}</family>".replace(" SC<", " JP<") for face in faces)',
           ("tests/test_outputs.py", "-k", "simplified")),
    Mutant("pdf: 黑体 mapped to the Korean face of Noto Sans CJK", "xlpipeline/outputs/pdf.py",
           '"黑体": ("SimHei", "Noto Sans CJK SC"),', '"黑体": ("SimHei", "Noto Sans CJK KR"),',
           ("tests/test_collect.py", "-k", "assessors_rollup")),

    Mutant("rollup template: a chart's value axis starts where LibreOffice likes", "xlpipeline/outputs/collect/template.py",
           "    chart.y_axis.scaling.min = 0", "    pass", ("tests/test_cli.py", "-k", "rollup")),

    Mutant("rollup template: 汇总 shrunk onto one sheet", "xlpipeline/outputs/collect/template.py",
           "    ws.sheet_properties.pageSetUpPr.fitToPage = False\n", "", ("tests/test_cli.py", "-k", "rollup")),

    Mutant("pages: a filled form keeps whole blocks that do not fit the rest of the page", "xlpipeline/ooxml/pages.py",
           "room = capacity - used if fill else capacity - repeated", "room = capacity - repeated",
           ("tests/test_outputs.py", "-k", "filled")),
    Mutant("xltemplate: a merged cell's row sized from its first column", "xlpipeline/outputs/xltemplate/sheet.py",
           "_fit_height(new, widths, spans.get(r, {}))", "_fit_height(new, widths, {})",
           ("tests/test_outputs.py", "-k", "merged_sentence")),
    Mutant("live: a 实时计分 laid out otherwise gets our formulas", "xlpipeline/writeback.py",
           "outdated = stale and _laid_out_as_ours(book, rules)", "outdated = stale",
           ("tests/test_live.py", "-k", "laid_out_otherwise")),
    Mutant("live: Excel rewrites the protected 实时计分", "xlpipeline/excel/adapter.py",
           "    in_file = False  #", "    in_file = True  #", ("tests/test_excel.py", "-k", "earlier")),
    Mutant("live: the WPS plan rewrites the protected 实时计分", "xlpipeline/pipeline.py",
           "planned_write(rules, results, state, in_file=False, also=progress)",
           "planned_write(rules, results, state, also=progress)",
           ("tests/test_live.py", "-k", "through_wps")),
    Mutant("live: the exact path shares the fast path's formula", "xlpipeline/workbook/live.py",
           'cells[f"G{row}"] = f"IF({exact}=1,L{row},E{row}{minus})"',
           'cells[f"G{row}"] = f"IF({exact}=1,IFERROR(SUMPRODUCT({mask},{amounts}),0),E{row}{minus})"',
           ("tests/test_live.py", "-k", "cannot_be_parsed")),
    Mutant("textfit: rows a little over half as tall as their lines need", "xlpipeline/workbook/textfit.py",
           "LINE_HEIGHT = 16.0", "LINE_HEIGHT = 9.0", ("tests/test_outputs.py", "-k", "printed_text_is_whole")),
    Mutant("init --add: a sheet the workbook has is added again", "xlpipeline/ooxml/addsheets.py",
           "donor.keep([name for name in donor.parts if name.casefold() not in have])",
           "donor.keep(list(donor.parts))", ("tests/test_calendar.py", "-k", "init_add")),
    Mutant("remind: a changed list is a new reminder the same day", "xlpipeline/mail/remind.py",
           'key = "|".join(["提醒", today.isoformat(), r.unit,',
           'key = "|".join(["提醒", today.isoformat(), body, r.unit,', ("tests/test_calendar.py", "-k", "one_message_a_day")),
    Mutant("calendar: a mistake in 工作日历 stops score", "xlpipeline/scoring/calendar.py",
           "    except InputErrors as exc:\n        return [], [", "    except ZeroDivisionError as exc:\n        return [], [",
           ("tests/test_calendar.py", "-k", "bad_date")),
    Mutant("progress: a 工作进度 of the user's own gets our counts", "xlpipeline/writeback.py",
           "if any(row > len(grid) or tuple(grid[row - 1][:5]) != titles for row, titles in at.headers.items()):",
           "if False:", ("tests/test_calendar.py", "-k", "users_own")),
    Mutant("web: the 科室 in the address names the .ics on disk", "xlpipeline/web/calendar.py",
           'ics = st(request).work_folder("ics") / "工作日历.ics"',
           'ics = st(request).work_folder("ics") / f"工作日历_{department}.ics"',
           ("tests/test_web_security.py", "-k", "calendar")),
    Mutant("locks: a LibreOffice lock is never told left over by its process", "xlpipeline/ooxml/locks.py",
           "and not _libreoffice_running(fields[4]):", "and False:",
           ("tests/test_writeback.py", "-k", "program_is_gone")),
    Mutant("locks: a running LibreOffice with the lock's profile is not its owner", "xlpipeline/ooxml/locks.py",
           "if not given or profile in given:", "if not given:", ("tests/test_writeback.py", "-k", "program_is_gone")),
    Mutant("locks: a lock from another computer is judged by this one's processes", "xlpipeline/ooxml/locks.py",
           "if fields and fields[2] == socket.gethostname() and", "if fields and",
           ("tests/test_writeback.py", "-k", "another_computer")),
]


def copy_project(into: Path) -> Path:
    """A copy of the project, with the shared folder (the OOXML schemas) beside it as beside the original."""
    project = into / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info",
                                                                  ".pytest_cache", "build", "dist"))
    if (ROOT.parent / "shared").exists():
        (into / "shared").symlink_to(ROOT.parent / "shared")
    return project


def run(mutant: Mutant, project: Path) -> str:
    """'caught', 'survived' or 'stale'."""
    target = project / mutant.file
    original = target.read_text(encoding="utf-8")
    if original.count(mutant.old) != 1:
        return "stale"
    target.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
    try:
        env = dict(os.environ, PYTHONPATH=str(project))  # the copy's xlpipeline, not the installed one
        result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", "0",
                                 *mutant.tests], cwd=project, env=env, capture_output=True, text=True)
        return "caught" if result.returncode == 1 else ("survived" if result.returncode == 0 else
                                                        f"error (pytest exit {result.returncode})")
    finally:
        target.write_text(original, encoding="utf-8")


def main(words: list[str]) -> int:
    chosen = [m for m in MUTANTS if not words or any(w in m.name for w in words)]
    bad = 0
    with tempfile.TemporaryDirectory() as folder:
        project = copy_project(Path(folder))
        check = subprocess.run([sys.executable, "-c", "import xlpipeline; print(xlpipeline.__file__)"],
                               cwd=project, env=dict(os.environ, PYTHONPATH=str(project)),
                               capture_output=True, text=True).stdout.strip()
        assert check.startswith(str(project)), f"the copy is not what gets imported: {check}"
        for mutant in chosen:
            outcome = run(mutant, project)
            bad += outcome != "caught"
            print(f"{outcome:<9} {mutant.name}", flush=True)
    print(f"{len(chosen) - bad} of {len(chosen)} caught")
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
