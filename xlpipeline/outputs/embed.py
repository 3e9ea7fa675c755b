"""The results inside every attachment we write, for the assessors' `collect`.

A custom XML part (`customXml/itemN.xml`, root `<results xmlns="urn:xlpipeline:results:1"
digest="sha256:…">`) holds one JSON document: unit, year, 填报日期, round, the rules file's year
and SHA-256, every item's amount, block scores, bonus, total, the 参数 values and the counted
cases (enough for the engine to score the unit again), the program's version, and under `form`
the items the visible form shows and what its cells said when we wrote them (read back from the
written file with the same reader `collect` uses on forms filled by hand). `digest` is a
SHA-256 of the JSON in canonical form (keys sorted, no spaces, UTF-8; see `digests`): any edit of
the data that does not also recompute it shows. It is a check against editing, not a signature.

Excel keeps custom XML parts when it saves a workbook, LibreOffice too (it moves their
relationship, so they are found by part name); an application that drops them turns the file
into a form read from its visible cells.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from typing import NamedTuple

from lxml import etree

from python_calamine import CalamineWorkbook

from xlpipeline import __version__
from xlpipeline.ooxml.customxml import add_custom_xml, read_custom_xml
from xlpipeline.ooxml.parts import serialize
from xlpipeline.outputs.formread import VisibleForm, read_form
from xlpipeline.names import BY_DEPARTMENT
from xlpipeline.outputs.xltemplate import TemplateProblem
from xlpipeline.rules import Rules
from xlpipeline.scoring.engine import Results, money

SCHEMA = "urn:xlpipeline:results:1"
FORMAT = 1
NOT_IN_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def record(rules: Rules, results: Results, values: dict, round_name: str | None = None) -> dict:
    """What goes inside an attachment rendered from the template's names `values`; the visible
    cells are added when the file is written (`embed`)."""
    return {
        "format": FORMAT, "program": f"xlpipeline {__version__}",
        "unit": results.unit, "year": results.year, "date": values["report_date"].isoformat(), "round": round_name,
        "rules": {"year": rules.year, "sha256": rules.digest},
        "items": [{"no": i.no, "kind": i.kind, "amount": money(i.amount)} for i in results.items],
        "blocks": [{"id": b.id, "items": list(b.items), "score": money(b.score)} for b in results.blocks],
        "bonus": money(results.bonus), "total": money(results.total),
        "params": _params(results),
        "cases": [_case(c.case) for i in results.items for c in i.cases],
        "form": {"group": values.get("group"), "group_label": values.get("group_label"),
                 "items": [row["no"] for row in values["items"]]},
    }


def _params(results: Results) -> dict:
    survey = next((i for i in results.items if i.kind == "survey"), None)
    rank = next((i for i in results.items if i.kind == "rank"), None)
    satisfaction = survey.satisfaction if survey else None
    return {"satisfaction": None if satisfaction is None else str(satisfaction),
            "ranks": [{"label": r.label, "place": r.place} for r in (rank.ranks if rank else ())]}


def _case(case) -> dict:
    return {"row": case.row, "date": case.date.isoformat(), "code": case.code, "count": case.count,
            "modifier": case.modifier, "department": case.department, "note": case.note,
            "reference": case.reference}


def canonical(data) -> bytes:
    """JSON with keys sorted and no spaces, UTF-8; what XML cannot carry (U+FFFE, U+FFFF, a lone
    surrogate from edited data) stays a \\u escape, as JSON allows anywhere in a string."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return NOT_IN_XML.sub(lambda m: f"\\u{ord(m[0]):04x}", text).encode("utf-8")


def digests(data: dict) -> tuple[str, str]:
    """The data's digest, and the identity of the unit's results in it: everything but `form`
    (which says what one attachment shows), so that the attachments a unit sends to several
    assessors share it. One serialisation gives both."""
    results = canonical({k: v for k, v in data.items() if k != "form"})
    identity = hashlib.sha256(results).hexdigest()
    whole = hashlib.sha256(identity.encode() + b"\n" + canonical(data.get("form"))).hexdigest()
    return "sha256:" + whole, identity


def digest(data: dict) -> str:
    return digests(data)[0]


def results_element(data: dict) -> etree._Element:
    element = etree.Element(f"{{{SCHEMA}}}results", nsmap={None: SCHEMA}, digest=digest(data))
    element.text = canonical(data).decode("utf-8")
    return element


def embed(rendered: bytes, data: dict) -> bytes:
    """The rendered attachment with `data` and its visible cells embedded."""
    sheet, form = find_form(CalamineWorkbook.from_filelike(io.BytesIO(rendered)))
    if form is not None:
        check_agrees(data, form)
    data = {**data, "form": {**data["form"], "sheet": sheet, "visible": form.snapshot() if form else None}}
    out = io.BytesIO()
    add_custom_xml(io.BytesIO(rendered), out, serialize(results_element(data)), SCHEMA)
    return out.getvalue()


def check_agrees(data: dict, form: VisibleForm) -> None:
    """The form shows the scores being embedded: each item's amount and its block's score, and for
    the whole form the total. A 责任科室's form shows its own share and no block scores, so only
    what it shows of other kinds is held to this. Raises for a template that shows other figures."""
    if data["form"]["group_label"] == BY_DEPARTMENT:
        return
    amounts = {i["no"]: i["amount"] for i in data["items"]}
    block_of = {no: b["id"] for b in data["blocks"] for no in b["items"]}
    scores = {b["id"]: b["score"] for b in data["blocks"]}
    wrong = [f"第{no}项扣分 表格 {shown:.2f}，计分 {amounts.get(no)}" for no, shown in form.items.items()
             if f"{shown:.2f}" != amounts.get(no)]
    wrong += [f"第{no}项所在分块得分 表格 {shown:.2f}，计分 {scores.get(block_of.get(no))}"
              for no, shown in form.scores.items() if f"{shown:.2f}" != scores.get(block_of.get(no))]
    if data["form"]["group"] is None and form.total is not None and f"{form.total:.2f}" != data["total"]:
        wrong.append(f"合计 表格 {form.total:.2f}，计分 {data['total']}")
    if wrong:
        raise TemplateProblem("附件1模板显示的分数与计分结果不一致，请检查模板：" + "；".join(wrong[:5]))


def find_form(book: CalamineWorkbook) -> tuple[str | None, VisibleForm | None]:
    """The first sheet holding a 附件1 table, and the form read from it."""
    for name in book.sheet_names:
        form = read_form(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
        if form is not None:
            return name, form
    return None, None


class Embedded(NamedTuple):
    data: dict | None   # None: the part cannot be read at all
    digest: str         # as stored
    problem: str        # "" when the digest holds
    in_rollup: bool     # one of the units a roll-up carries
    identity: str = ""  # of the unit's results (see `digests`)


def embedded(zin: zipfile.ZipFile) -> list[Embedded]:
    """Every unit's data embedded in a workbook (one in an attachment, many in a roll-up)."""
    found = []
    for root in read_custom_xml(zin, SCHEMA):
        in_rollup = etree.QName(root).localname == "rollup"
        for element in (root.iter(f"{{{SCHEMA}}}results") if in_rollup else [root]):
            stored = element.get("digest") or ""
            try:
                data = json.loads(element.text or "")
            except (ValueError, RecursionError):
                found.append(Embedded(None, stored, "内嵌数据无法读取（不是有效的 JSON）", in_rollup))
                continue
            if not isinstance(data, dict):
                found.append(Embedded(None, stored, "内嵌数据无法读取（格式不对）", in_rollup))
            else:
                actual, identity = digests(data)
                problem = "" if stored == actual else "内嵌数据与其校验值不符（内嵌数据在生成后被改动过）"
                found.append(Embedded(data, stored, problem, in_rollup, identity))
    return found


def rollup_part(units: list[tuple[dict, str]]) -> bytes:
    """The custom XML of a roll-up: each unit's data with the digest it came with (a roll-up passes
    on what it received, so a later check still sees an edit made before)."""
    root = etree.Element(f"{{{SCHEMA}}}rollup", nsmap={None: SCHEMA})
    for data, stored in units:
        etree.SubElement(root, f"{{{SCHEMA}}}results", digest=stored).text = canonical(data).decode("utf-8")
    return serialize(root)
