"""The yearly rules data of 附件1: one TOML file per year beside this module.

Loading validates the whole file and raises `RulesError` with a Chinese message naming the
place in the file, so that next year's list is a data change, never a code change.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from pathlib import Path

from xlpipeline.errors import UserError

KINDS = ("deduction", "survey", "rank", "bonus")
# how often a duty of 应完成的工作 falls due: periods per year (0: once, by the year's end; None: not stated)
FREQUENCIES = {"每月": 12, "每季度": 4, "每半年": 2, "每年": 1, "年底前": 1, "一次": 1, "未规定": None}
RULES_DIR = Path(__file__).parent  # the yearly TOML files and the text templates ship beside this module
CODE_RE = re.compile(r"^(\d+)\.([A-Z])$")
AMOUNT = (int, Decimal)  # TOML integers and floats (read as Decimal) both allowed for points


class RulesError(UserError):
    """The rules data file is malformed."""


@dataclass(frozen=True)
class Code:
    code: str
    item: int
    label: str
    points: Decimal
    cap: Decimal | None
    modifiers: tuple[str, ...]

    @property
    def display(self) -> str:
        """The text the 情形代码 dropdown shows: code, a space, the label."""
        return f"{self.code} {self.label}"


@dataclass(frozen=True)
class Modifier:
    name: str
    factor: Decimal
    text: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Survey:
    deducted_items: tuple[int, ...]
    conversion: str


@dataclass(frozen=True)
class Rank:
    free_places: int
    per_place: Decimal


@dataclass(frozen=True)
class Block:
    id: str
    items: tuple[int, ...]
    points: Decimal
    assessors: tuple[str, ...]


@dataclass(frozen=True)
class Span:
    """A value of the official table merged down over items first..last."""
    first: int
    last: int
    text: str
    extra: str = ""


@dataclass(frozen=True)
class Duty:
    """A duty of an item's 应完成的工作: how often it falls due, and the code a missed one would become."""
    item: int
    name: str
    every: str                # a key of FREQUENCIES
    code: str | None = None   # the 情形代码 an unfulfilled occurrence would become, where the table links them
    due_day: int | None = None  # the day of the period's last month it is due by (default: the period's last day)
    choice: str | None = None   # the reading this program takes where the table is silent [choice]


@dataclass(frozen=True)
class Item:
    no: int
    kind: str
    cap: Decimal | None
    method: str
    work: str
    codes: tuple[Code, ...]
    survey: Survey | None
    rank: Rank | None
    block: str
    duties: tuple[Duty, ...] = ()


@dataclass(frozen=True)
class Choice:
    key: str
    text: str


@dataclass(frozen=True)
class Rules:
    year: int
    attachment: str
    title: str
    base_points: Decimal
    bonus_cap: Decimal
    max_total: Decimal
    choices: tuple[Choice, ...]
    corrections: tuple[tuple[str, str], ...]
    indicators: tuple[Span, ...]
    blocks: tuple[Block, ...]
    responsibilities: tuple[Span, ...]  # text: 责任科室, extra: 责任领导
    modifiers: dict[str, Modifier]
    items: tuple[Item, ...]
    codes: dict[str, Code]
    digest: str = ""  # SHA-256 of the rules file's text: which version of the year's rules scored a file

    def item(self, no: int) -> Item:
        return self.items[no - 1]

    def block(self, block_id: str) -> Block:
        return next(b for b in self.blocks if b.id == block_id)

    def block_of(self, no: int) -> Block:
        return self.block(self.item(no).block)

    @property
    def assessors(self) -> list[str]:
        """Every 考评单位, in table order."""
        return list(dict.fromkeys(a for block in self.blocks for a in block.assessors))

    def fix(self, text: str) -> str:
        """The text with the reviewed typing slips of the source corrected."""
        for wrong, right in self.corrections:
            text = text.replace(wrong, right)
        return text


def available_years() -> list[int]:
    folder = RULES_DIR
    return sorted(int(p.name[:-5]) for p in folder.iterdir() if re.fullmatch(r"\d{4}\.toml", p.name))


@cache
def load_rules(year: int) -> Rules:
    """The bundled rules of one assessment year."""
    if year not in available_years():
        raise RulesError(f"没有 {year} 年度的规则数据（现有：{'、'.join(map(str, available_years()))}）")
    resource = RULES_DIR / f"{year}.toml"
    return parse_rules(resource.read_text(encoding="utf-8"), f"{year}.toml")


def load_rules_file(path: Path) -> Rules:
    return parse_rules(path.read_text(encoding="utf-8"), path.name)


def explain_template_text() -> str:
    """The jinja2 text template of 扣分说明, kept beside the rules data."""
    return (RULES_DIR / "explain.txt.j2").read_text(encoding="utf-8")


def mail_template_text(name: str) -> str:
    """A jinja2 text template of the email (mail_subject, mail_body), kept beside the rules data."""
    return (RULES_DIR / f"{name}.txt.j2").read_text(encoding="utf-8")


def parse_rules(text: str, source: str) -> Rules:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"规则数据 {source}: 格式错误：{exc}") from None
    return replace(_Parser(source).rules(data), digest=hashlib.sha256(text.encode("utf-8")).hexdigest())


class _Parser:
    """Turns the raw TOML tables into `Rules`, checking every key and cross-reference."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> RulesError:
        return RulesError(f"规则数据 {self.source}: {where}: {message}")

    def table(self, raw, where: str, required: dict, optional: dict | None = None) -> dict:
        """Check a table's keys and value types; return it with optional keys defaulted to None."""
        optional = optional or {}
        if not isinstance(raw, dict):
            raise self.fail(where, "应为表（键值对）")
        unknown = sorted(set(raw) - set(required) - set(optional))
        if unknown:
            raise self.fail(where, f"未知的键 {', '.join(unknown)}")
        missing = sorted(set(required) - set(raw))
        if missing:
            raise self.fail(where, f"缺少键 {', '.join(missing)}")
        out = {}
        for key, kind in {**required, **optional}.items():
            value = raw.get(key)
            if value is not None and not _is(value, kind):
                raise self.fail(f"{where}.{key}", f"类型应为 {_kind_name(kind)}")
            out[key] = value
        return out

    def span(self, raw: list, where: str) -> tuple[int, int]:
        if len(raw) != 2 or not all(isinstance(n, int) for n in raw) or raw[0] > raw[1]:
            raise self.fail(where, "items 应为 [起, 止] 两个序号")
        return raw[0], raw[1]

    def rules(self, data: dict) -> Rules:
        top = self.table(data, "顶层", {
            "year": int, "attachment": str, "title": str, "base_points": AMOUNT,
            "bonus_cap": AMOUNT, "max_total": AMOUNT, "corrections": list, "indicators": list,
            "blocks": list, "responsibilities": list, "modifiers": list, "items": list,
        }, {"choices": list})
        item_count = len(top["items"])
        blocks = tuple(self.block(raw, f"blocks[{i}]") for i, raw in enumerate(top["blocks"]))
        self.check_cover([(b.items[0], b.items[-1]) for b in blocks], item_count, "blocks")
        block_of = {no: b.id for b in blocks for no in b.items}
        modifiers = [self.modifier(raw, f"modifiers[{i}]") for i, raw in enumerate(top["modifiers"])]
        allowed: dict[str, list[str]] = {}
        for m in modifiers:
            for code in m.codes:
                allowed.setdefault(code, []).append(m.name)
        items = tuple(self.item(raw, f"items[{i}]", i + 1, block_of, allowed)
                      for i, raw in enumerate(top["items"]))
        codes: dict[str, Code] = {}
        for item in items:
            for code in item.codes:
                if code.code in codes:
                    raise self.fail(f"items[{item.no - 1}]", f'情形代码 "{code.code}" 重复')
                codes[code.code] = code
        for m in modifiers:
            for code in m.codes:
                if code not in codes:
                    raise self.fail(f"modifiers.{m.name}", f'情形代码 "{code}" 不存在')
        if len({m.name for m in modifiers}) != len(modifiers):
            raise self.fail("modifiers", "减免情形名称重复")
        rules = Rules(
            year=top["year"], attachment=top["attachment"], title=top["title"],
            base_points=Decimal(top["base_points"]), bonus_cap=Decimal(top["bonus_cap"]),
            max_total=Decimal(top["max_total"]),
            choices=tuple(Choice(**self.table(c, f"choices[{i}]", {"key": str, "text": str}))
                          for i, c in enumerate(top["choices"] or [])),
            corrections=tuple(self.correction(c, f"corrections[{i}]")
                              for i, c in enumerate(top["corrections"])),
            indicators=self.spans(top["indicators"], "indicators", item_count, {"text": str}),
            blocks=blocks,
            responsibilities=self.spans(top["responsibilities"], "responsibilities", item_count,
                                        {"department": str, "leader": str}),
            modifiers={m.name: m for m in modifiers}, items=items, codes=codes,
        )
        self.check_totals(rules)
        self.check_corrections(rules)
        return rules

    def block(self, raw, where: str) -> Block:
        t = self.table(raw, where, {"id": str, "items": list, "points": AMOUNT, "assessors": list})
        first, last = self.span(t["items"], where)
        if not t["assessors"] or not all(isinstance(a, str) and a for a in t["assessors"]):
            raise self.fail(where, "assessors 应为非空的考评单位列表")
        return Block(t["id"], tuple(range(first, last + 1)), Decimal(t["points"]), tuple(t["assessors"]))

    def modifier(self, raw, where: str) -> Modifier:
        t = self.table(raw, where, {"name": str, "factor": AMOUNT, "text": str, "codes": list})
        factor = Decimal(t["factor"])
        if factor < 0:
            raise self.fail(where, "factor 不能为负")
        return Modifier(t["name"], factor, t["text"], tuple(t["codes"]))

    def correction(self, raw, where: str) -> tuple[str, str]:
        t = self.table(raw, where, {"wrong": str, "right": str})
        return t["wrong"], t["right"]

    def spans(self, raw: list, where: str, item_count: int, fields: dict) -> tuple[Span, ...]:
        spans = []
        for i, entry in enumerate(raw):
            t = self.table(entry, f"{where}[{i}]", {"items": list, **fields})
            first, last = self.span(t["items"], f"{where}[{i}]")
            values = [t[k] for k in fields]
            spans.append(Span(first, last, *values))
        self.check_cover([(s.first, s.last) for s in spans], item_count, where)
        return tuple(spans)

    def check_cover(self, ranges: list[tuple[int, int]], item_count: int, where: str) -> None:
        expected = 1
        for first, last in ranges:
            if first != expected:
                raise self.fail(where, f"应从第 {expected} 项接续，实际从第 {first} 项开始（有缺漏或重叠）")
            expected = last + 1
        if expected != item_count + 1:
            raise self.fail(where, f"未覆盖到第 {item_count} 项")

    def item(self, raw, where: str, expected_no: int, block_of: dict, allowed: dict) -> Item:
        t = self.table(raw, where, {"no": int, "method": str, "work": str}, {
            "kind": str, "cap": AMOUNT, "codes": list, "survey": dict, "rank": dict, "duties": list})
        no, kind = t["no"], t["kind"] or "deduction"
        if no != expected_no:
            raise self.fail(where, f"序号应为 {expected_no}，实际为 {no}")
        if kind not in KINDS:
            raise self.fail(where, f"kind 应为 {' / '.join(KINDS)} 之一")
        cap = None if t["cap"] is None else Decimal(t["cap"])
        codes = tuple(self.code(c, f"{where}.codes[{i}]", no, allowed) for i, c in enumerate(t["codes"] or []))
        needs = {"deduction": ("cap", "codes"), "bonus": ("cap", "codes"), "rank": ("cap", "rank"),
                 "survey": ("survey",)}[kind]
        for key in ("cap", "codes", "survey", "rank"):
            if (t[key] is not None) != (key in needs):
                raise self.fail(where, f"kind = {kind} 的项{'必须' if key in needs else '不能'}有 {key}")
        if cap is not None and cap <= 0:
            raise self.fail(f"{where}.cap", "上限应大于 0")
        survey = rank = None
        if t["survey"] is not None:
            s = self.table(t["survey"], f"{where}.survey", {"deducted_items": list, "conversion": str})
            if s["conversion"] != "linear":
                raise self.fail(f"{where}.survey.conversion", "目前只支持 linear（线性折算）")
            survey = Survey(tuple(s["deducted_items"]), s["conversion"])
        if t["rank"] is not None:
            r = self.table(t["rank"], f"{where}.rank", {"free_places": int, "per_place": AMOUNT})
            rank = Rank(r["free_places"], Decimal(r["per_place"]))
        duties = tuple(self.duty(d, f"{where}.duties[{i}]", no, {c.code for c in codes})
                       for i, d in enumerate(t["duties"] or []))
        return Item(no, kind, cap, t["method"], t["work"].strip("\n"), codes, survey, rank, block_of[no], duties)

    def duty(self, raw, where: str, item_no: int, codes: set[str]) -> Duty:
        t = self.table(raw, where, {"name": str, "every": str}, {"code": str, "due_day": int, "choice": str})
        if t["every"] not in FREQUENCIES:
            raise self.fail(f"{where}.every", f"应为 {' / '.join(FREQUENCIES)} 之一")
        if t["code"] is not None and t["code"] not in codes:
            raise self.fail(f"{where}.code", f'情形代码 "{t["code"]}" 不是第 {item_no} 项的情形')
        if t["due_day"] is not None and not 1 <= t["due_day"] <= 31:
            raise self.fail(f"{where}.due_day", "应为 1–31 日")
        if not t["name"].strip():
            raise self.fail(f"{where}.name", "不能为空")
        return Duty(item_no, t["name"], t["every"], t["code"], t["due_day"], t["choice"])

    def code(self, raw, where: str, item_no: int, allowed: dict) -> Code:
        t = self.table(raw, where, {"code": str, "label": str, "points": AMOUNT}, {"cap": AMOUNT})
        match = CODE_RE.match(t["code"])
        if not match or int(match[1]) != item_no:
            raise self.fail(where, f'情形代码 "{t["code"]}" 应为 "{item_no}.<大写字母>"')
        points = Decimal(t["points"])
        cap = None if t["cap"] is None else Decimal(t["cap"])
        if points <= 0 or (cap is not None and cap <= 0):
            raise self.fail(where, "分值和上限应大于 0")
        return Code(t["code"], item_no, t["label"], points, cap, tuple(allowed.get(t["code"], ())))

    def check_totals(self, rules: Rules) -> None:
        for block in rules.blocks:
            items = [rules.item(no) for no in block.items]
            fixed = sum((i.cap for i in items if i.kind in ("deduction", "rank")), Decimal(0))
            if fixed > block.points:
                raise self.fail(f"blocks.{block.id}", f"各项上限之和 {fixed} 超过分块分值 {block.points}")
            for item in items:
                if item.survey and not set(item.survey.deducted_items) <= set(block.items) - {item.no}:
                    raise self.fail(f"items[{item.no - 1}].survey", "deducted_items 应为同一分块中的其他项")
        points = sum((b.points for b in rules.blocks), Decimal(0))
        if points != rules.base_points:
            raise self.fail("blocks", f"分块分值之和 {points} 不等于 base_points {rules.base_points}")
        if rules.base_points + rules.bonus_cap != rules.max_total:
            raise self.fail("max_total", "应等于 base_points + bonus_cap")

    def check_corrections(self, rules: Rules) -> None:
        texts = "\n".join(t for i in rules.items for t in (i.method, i.work))
        texts += "\n".join(s.text for s in rules.indicators)
        for wrong, _ in rules.corrections:
            if wrong not in texts:
                raise self.fail("corrections", f'“{wrong}”在原文中没有出现')


def _is(value, kind) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return any(isinstance(value, k) and not (k is int and isinstance(value, bool)) for k in kinds)


def _kind_name(kind) -> str:
    names = {int: "整数", Decimal: "数", str: "文本", list: "列表", dict: "表"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return "或".join(names[k] for k in kinds)
