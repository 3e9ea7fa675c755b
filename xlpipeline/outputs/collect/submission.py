"""One workbook read for the roll-up: the data we embedded (checked against its digest, against the
visible form, and scored again by the engine), or else a 附件1 form read from its visible cells."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from python_calamine import CalamineWorkbook

from xlpipeline.errors import UserError
from xlpipeline.ooxml.package import checked_package
from xlpipeline.outputs.collect.sources import Source
from xlpipeline.outputs.embed import FORMAT, Embedded, digest, embedded, find_form
from xlpipeline.outputs.formread import VisibleForm
from xlpipeline.rules import RulesError, load_rules
from xlpipeline.workbook.layout import LEDGER
from xlpipeline.scoring.engine import Case, Params, Rank, money, score

EMBEDDED, VISIBLE, ROLLUP = "内嵌数据", "表格可见内容", "汇总表"


@dataclass
class Submission:
    unit: str
    year: int | None
    report_date: date | None
    amounts: dict[int, Decimal]          # item → deduction (the bonus item: points added)
    source: Source
    basis: str                           # EMBEDDED, VISIBLE or ROLLUP
    identity: str                        # equal for attachments of one submission
    cases: list[dict] = field(default_factory=list)
    rules_digest: str = ""
    flags: list[str] = field(default_factory=list)  # problems that do not stop it counting
    data: dict | None = None                        # as embedded (None: read from the visible form)
    stored: str = ""                                # the digest it came with

    def embedded(self) -> tuple[dict, str]:
        """What a roll-up embeds for this unit: its data and digest as received, or (read from a
        visible form) its figures, marked as such, with a digest of their own."""
        if self.data is not None:
            return self.data, self.stored
        data = {"format": FORMAT, "basis": "visible", "unit": self.unit, "year": self.year,
                "date": self.report_date.isoformat() if self.report_date else None,
                "items": [{"no": no, "amount": f"{a:.2f}"} for no, a in sorted(self.amounts.items())],
                "source": self.source.label}
        return data, digest(data)


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    counted: bool  # False: the file (or this unit in it) is left out of the roll-up


def read_source(source: Source) -> tuple[list[Submission], list[Problem]]:
    """The submissions in one workbook, or why there are none; never raises for a bad file."""
    if source.path is None:
        return [], [Problem(source.label, source.problem, False)]
    try:
        with checked_package(source.path) as zin:
            found = embedded(zin)
        form = None
        if not any(e.in_rollup for e in found):
            try:
                with open(source.path, "rb") as handle:  # a path calamine could not name (not UTF-8) still opens
                    book = CalamineWorkbook.from_filelike(handle)
                    _, form = find_form(book)
            except Exception as exc:  # noqa: BLE001 — calamine reports damaged sheets with assorted types
                raise UserError(f"无法读取工作簿：{exc}") from None
            if not found and LEDGER in book.sheet_names:
                raise UserError(f"这是考评工作簿（含“{LEDGER}”），不是附件：请该单位先生成附件1再报送")
    except UserError as exc:
        message = str(exc).removeprefix(f"{source.path}: ").removeprefix(f"{source.path.name}: ")
        return [], [Problem(source.label, f"{message}，未计入", False)]
    except OSError as exc:  # unreadable here (permissions, a file that vanished): the others still count
        return [], [Problem(source.label, f"无法读取：{exc.strerror or exc}，未计入", False)]
    if any(e.in_rollup for e in found):
        return _rollup(source, found)
    unread = ""
    if found:
        submission = _from_data(found[0], source, EMBEDDED)
        if submission is not None:
            submission.flags += _visible_differences(found[0].data, form) + \
                _recomputed_differences(found[0].data, submission)
            return [submission], []
        unread = found[0].problem or "内嵌数据格式不对"
    return _from_form(source, form, unread)


def _rollup(source: Source, found: list[Embedded]) -> tuple[list[Submission], list[Problem]]:
    submissions, problems = [], []
    for entry in found:
        submission = _from_data(entry, source, ROLLUP)
        if submission is None:
            problems.append(Problem(source.label, f"{entry.problem or '内嵌数据格式不对'}，其中一个单位未计入", False))
        else:
            submissions.append(submission)
    return submissions, problems


def _from_data(entry: Embedded, source: Source, basis: str) -> Submission | None:
    """A submission from embedded data; None where the data is not what we write."""
    data = entry.data
    if data is None:
        return None
    try:
        amounts = {int(i["no"]): _amount(i["amount"]) for i in data["items"]}
        submission = Submission(
            str(data["unit"]), None if data.get("year") is None else int(data["year"]),
            date.fromisoformat(data["date"]) if data.get("date") else None, amounts, source,
            VISIBLE if data.get("basis") == "visible" else basis, entry.identity,
            [c for c in data.get("cases") or [] if isinstance(c, dict)], str((data.get("rules") or {}).get("sha256", "")),
            data=data, stored=entry.digest)
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
        return None
    if entry.problem:
        submission.flags.append(entry.problem)
    return submission


def _amount(text) -> Decimal:
    """An embedded amount: a two-decimal string of a score's size (not NaN, not negative)."""
    value = Decimal(str(text))
    if not value.is_finite() or not 0 <= value <= 1000:
        raise ValueError(text)
    return value


def _from_form(source: Source, form: VisibleForm | None, unread: str) -> tuple[list[Submission], list[Problem]]:
    before = f"{unread}；" if unread else ""
    if form is None:
        return [], [Problem(source.label, before + "不是附件1（没有找到含“序号、扣分、得分”的表头），未计入", False)]
    if not form.unit:
        return [], [Problem(source.label, before + "附件1表格中找不到单位名称（“单位：…”），未计入", False)]
    flag = before + ("不是本程序生成的附件，按表格可见内容读取" if not unread else "按表格可见内容读取")
    submission = Submission(form.unit, form.year, form.report_date, dict(form.items), source, VISIBLE,
                            f"visible:{source.label}", flags=[flag])
    return [submission], []


def _visible_differences(data: dict, form: VisibleForm | None) -> list[str]:
    """The visible cells that no longer say what they said when the file was written."""
    written = (data.get("form") or {}).get("visible")
    if not written:
        return []
    if form is None:
        return ["可见表格已被删改（找不到附件1表格），以内嵌数据为准"]
    now = form.snapshot()
    changed = [f"第{no}项扣分 表格 {now['items'].get(no, '（无）')}，原为 {value}"
               for no, value in written["items"].items() if now["items"].get(no) != value]
    changed += [f"第{no}项所在分块得分 表格 {now['scores'].get(no, '（无）')}，原为 {value}"
                for no, value in written["scores"].items() if now["scores"].get(no) != value]
    if written["total"] != now["total"]:
        changed.append(f"合计得分 表格 {now['total'] or '（无）'}，原为 {written['total']}")
    return ["可见表格与内嵌数据不符（表格被手工改动）：" + "；".join(changed)] if changed else []


def _recomputed_differences(data: dict, submission: Submission) -> list[str]:
    """The engine scores the embedded cases again; where it disagrees, the figures were edited."""
    try:
        rules = load_rules(submission.year)
    except RulesError:  # a year we have no rules for: `counted` leaves it out
        return []
    if submission.rules_digest != rules.digest:
        return [f"按另一版本的 {submission.year} 年规则计分（规则文件不同），未重算核对"]
    try:
        params = Params(submission.unit, submission.year,
                        _decimal(data["params"]["satisfaction"]),
                        tuple(Rank(r["label"], r["place"]) for r in data["params"]["ranks"]))
        cases = [Case(int(c["row"]), date.fromisoformat(c["date"]), c["code"], int(c["count"]), c["modifier"],
                      c["note"], c["reference"], c["department"]) for c in submission.cases]
        if any(c.code not in rules.codes or (c.modifier and c.modifier not in rules.modifiers) for c in cases):
            raise ValueError
        results = score(rules, params, cases)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return ["内嵌的台账数据无法重算（数据被改动或损坏）"]
    differ = [f"第{i.no}项 重算 {money(i.amount)}，填报 {money(submission.amounts.get(i.no, Decimal(0)))}"
              for i in results.items if submission.amounts.get(i.no) != i.amount]
    if money(results.total) != data["total"]:
        differ.append(f"总分 重算 {money(results.total)}，填报 {data['total']}")
    return ["按内嵌台账重算与填报的分数不符（分数被手工改动）：" + "；".join(differ)] if differ else []


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))
