"""`submit` and `batch`: filled 附件1 workbooks (and PDFs) from a working workbook.

File names come from a pattern the user may set; whatever a unit or group name contains, the
file lands inside the output folder with a name Windows, macOS and Linux all accept.
"""
from __future__ import annotations

import csv
import io
import re
import string
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from xlpipeline.workbook.book import Book
from xlpipeline.names import BATCH_NAME, BY_DEPARTMENT, INDEX, SUBMIT_NAME  # noqa: F401 (re-exported)
from xlpipeline.scoring.engine import money
from xlpipeline.errors import FileProblem, UserError
from xlpipeline.scoring.explain import explanations
from xlpipeline.pipeline import read_and_score
from xlpipeline.progress import Progress, phase, steps
from xlpipeline.outputs.embed import embed, record
from xlpipeline.outputs.pdf import to_pdf
from xlpipeline.outputs.report import context, department_context, department_groups, groups
from xlpipeline.resources import TEMPLATE
from xlpipeline.ooxml.safesave import replace_file
from xlpipeline.outputs.xltemplate import XlsxTemplate

NAME_FIELDS = ("attachment", "unit", "year", "by", "group")
MAX_NAME = 80  # characters before the extension; CJK names stay well under 255 bytes
MAX_FIELD = 30  # each field is cut first, so a long unit name cannot push the group name out
UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM\d|LPT\d)(\..*)?$", re.I)


@dataclass(frozen=True)
class Output:
    group: str | None
    path: Path
    pdf: Path | None
    items: list[int]
    deduction: Decimal
    score: Decimal | None  # the blocks' scores; None for a 责任科室 (blocks belong to the whole unit)


def safe_name(text: str) -> str:
    """A file name from data: no path separators or characters Windows refuses, no leading dots,
    no reserved device names, not too long."""
    name = UNSAFE.sub("_", unicodedata.normalize("NFC", text))
    name = re.sub(r"\s+", " ", name).strip(" .")[:MAX_NAME].strip(" .")
    if not name:
        return "未命名"
    return f"_{name}" if RESERVED.match(name) else name


def file_name(pattern: str, **fields) -> str:
    """Fill a name pattern like "{attachment}_{unit}_{year}" (plain fields only) and make it safe."""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise UserError(f"文件名格式“{pattern}”有误：{exc}") from None
    for _, field, spec, conversion in parsed:
        if field is not None and (field not in NAME_FIELDS or spec or conversion):
            raise UserError(f"文件名格式“{pattern}”中的 {{{field}}} 不可用；可用：" +
                            "、".join(f"{{{f}}}" for f in NAME_FIELDS))
    return safe_name(pattern.format(**{f: str(fields.get(f, ""))[:MAX_FIELD] for f in NAME_FIELDS}))


def inside(folder: Path, name: str, taken: set[str]) -> Path:
    """`folder/name`, made unique among `taken`, and checked to lie inside `folder`."""
    stem, suffix = name.rsplit(".", 1)
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}_{n}.{suffix}"
    taken.add(candidate.lower())
    path = folder / candidate
    if path.resolve().parent != folder.resolve():
        raise FileProblem(f"{candidate}: 文件名不安全，拒绝写到输出文件夹之外")
    return path


def write_output(template: XlsxTemplate, values: dict, path: Path, data: dict | None = None) -> None:
    """The template rendered with `values`, with `data` (an `embed.record`) embedded, saved at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rendered = io.BytesIO()
    template.render(values, rendered)
    content = rendered.getvalue() if data is None else embed(rendered.getvalue(), data)
    replace_file(path, lambda out: out.write(content), backup=False)


def submit(book: Book, out: Path | None = None, pdf: bool = False, template: Path = TEMPLATE,
           pattern: str = SUBMIT_NAME) -> Output:
    """The filled 附件1 of the whole unit."""
    rules, results = read_and_score(book)
    if out is None:
        name = file_name(pattern, attachment=rules.attachment, unit=results.unit, year=results.year)
        out = inside(book.path.parent, f"{name}.xlsx", set())
    values = context(rules, results)
    write_output(XlsxTemplate(template), values, out, record(rules, results, values))
    pdfs = pdf_beside([out], out.parent) if pdf else [None]
    items = [i.no for i in rules.items]
    return Output(None, out, pdfs[0], items, results.deduction, results.total)


def batch(book: Book, by: str, out_dir: Path | None = None, pdf: bool = False, template: Path = TEMPLATE,
          pattern: str = BATCH_NAME, progress: Progress = True) -> list[Output]:
    """One filled workbook per group, and an index: by 责任科室, each department's own cases and the
    items they touch; by a column of the form (任务清单责任科室, 责任领导, 考评单位, 考评指标), its items."""
    rules, results = read_and_score(book)
    out_dir = out_dir or book.path.parent / safe_name(f"{book.path.stem}_按{by}")
    file_name(pattern)  # a bad --name or template is refused before anything is made
    form = XlsxTemplate(template)
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = {INDEX.lower()}
    outputs = []
    by_case = by == BY_DEPARTMENT
    grouped = department_groups(results) if by_case else groups(rules, by)
    texts = None if by_case else explanations(rules, results)
    for group, items in steps(grouped.items(), "生成", progress):
        name = file_name(pattern, attachment=rules.attachment, unit=results.unit, year=results.year,
                         by=by, group=group)
        path = inside(out_dir, f"{name}.xlsx", taken)
        if by_case:
            values, deduction = department_context(rules, results, group)
        else:
            values = context(rules, results, items, group=group, group_label=by, texts=texts)
            deduction = results.deduction_of(items)
        write_output(form, values, path, record(rules, results, values))
        outputs.append(Output(group, path, None, items, deduction, values["score_total"]))
    if pdf:
        phase(progress, "转换 PDF")
        pdfs = pdf_beside([o.path for o in outputs], out_dir)
        outputs = [replace(o, pdf=p) for o, p in zip(outputs, pdfs)]
    _write_index(out_dir / INDEX, by, outputs)
    return outputs


def pdf_beside(written: list[Path], folder: Path) -> list[Path]:
    """PDFs of workbooks already written; when there can be none, the message says what was written."""
    try:
        return to_pdf(written, folder)
    except FileProblem as exc:
        names = "、".join(p.name for p in written[:3]) + (f" 等 {len(written)} 个文件" if len(written) > 3 else "")
        raise FileProblem(f"{exc}（工作簿已生成：{names}，只是没有 PDF）") from None


def _csv_text(value) -> str:
    """A CSV cell a spreadsheet opens as text: one starting like a formula (= + - @, tab, CR) gets a
    leading apostrophe, as OWASP advises against CSV injection; numbers like -1.50 stay numbers."""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _write_index(path: Path, by: str, outputs: list[Output]) -> None:
    text = io.StringIO()
    table = csv.writer(text)
    table.writerow(["分组依据", "分组", "文件", "PDF", "项数", "序号", "扣分小计", "所涉分块得分"])
    for o in outputs:
        table.writerow(map(_csv_text, [by, o.group, o.path.name, o.pdf.name if o.pdf else "", len(o.items),
                                      "、".join(map(str, o.items)), money(o.deduction),
                                      "" if o.score is None else money(o.score)]))
    data = text.getvalue().encode("utf-8-sig")  # with a BOM, so Excel reads the Chinese right
    replace_file(path, lambda out: out.write(data), backup=False)
