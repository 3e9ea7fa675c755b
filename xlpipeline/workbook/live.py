"""Live figures: native worksheet formulas, generated from the rules data, that score the working
workbook in Excel, WPS and LibreOffice with nothing installed.

Everything is computed in whole hundredths of a point (分的百分之一), so binary floating point
never moves a cent; a visible cell divides one exact integer by 100. Only functions that Excel
2010+, WPS and LibreOffice compute alike are used, none volatile.

How the log is counted (measured in LibreOffice 7.4, which Excel and WPS outrun):
- Fast path: per code, SUMIFS/COUNTIFS with one exact criterion — the bare code or the exact
  dropdown text (each further criterion costs a pass over the rows, a wildcard about five times
  an exact match, and a criterion that can match an empty cell makes LibreOffice walk every row).
  They read log rows 2–100,001 wherever the rows are; the first range of each call is one that
  every valid row fills, since LibreOffice trims a call to the data of its first range.
- Cheap checks (COUNTA/COUNTIFS over single columns) prove that every row holding anything is
  valid: a known code, a date in 考评年度, a whole 数量 ≥ 1, a 指标序号 and 减免情形 that fit the
  code. Only when one fails (`精算`) does each row of the helper table switch to the exact path:
  a SUMPRODUCT that tests every condition per row, up to the log's last used row.
- The two paths live in formulas of their own (columns E/F and L/M, the exact row count in C of
  its check row): the exact path's ranges end at `INDEX(column,台账末行)`, a reference-returning
  INDEX, which WPS's documentation describes (“INDEX 函数的结果为一个引用，且在其他公式中也被解释为
  引用”) but an engine that cannot parse it (Gnumeric) keeps as text; the fast path and every
  figure built on it then still compute.
- A row counted by neither path is `待核对`: 任务清单's 合计 row says so beside the total, and
  the row itself turns amber (`pending_row_rule`).
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from xlpipeline.workbook.layout import (FORM, LEDGER, PARAM_RANKS, PARAM_SATISFACTION, PARAM_YEAR, PARAMS, SUMMARY,
                               FormLayout, SummaryLayout, param_cell)
from xlpipeline.rules import Code, Item, Rules, RulesError

LIVE = "实时计分"
LAST_ROW = 100001  # the log rows the formulas read (row 1 is the header)
CRITERION_MAX = 255  # Excel matches no text criterion longer than this
PENDING_NOTE = "台账有 {n} 行待核对，以“重新计算”结果为准"


def _text(value: str) -> str:
    """A formula string literal."""
    return '"' + value.replace('"', '""') + '"'


def _criterion(value: str) -> str:
    """A SUMIFS/COUNTIFS criterion that matches exactly `value` (case aside, as everywhere)."""
    escaped = re.sub(r"([~*?])", r"~\1", value)
    if escaped[:1] in ("=", "<", ">"):
        escaped = "=" + escaped
    if len(escaped) > CRITERION_MAX:
        raise RulesError(f"情形“{value[:20]}…”的下拉文字超过 {CRITERION_MAX} 个字符，实时公式无法匹配")
    return _text(escaped)


def _cents(amount: Decimal, what: str) -> int:
    value = amount * 100
    if value != value.to_integral_value():
        raise RulesError(f"{what} {amount} 不是 0.01 分的整数倍，实时公式无法精确计算")
    return int(value)


def _column(letter: str) -> str:
    """The log rows of one column the formulas read."""
    return f"'{LEDGER}'!${letter}$2:${letter}${LAST_ROW}"


def _used_rows(letter: str, last_row: str) -> str:
    """Rows 2 to the log's last used row: the exact path's SUMPRODUCTs, which LibreOffice does not
    trim to the data, read no further."""
    return f"'{LEDGER}'!${letter}$2:INDEX('{LEDGER}'!${letter}:${letter},{last_row})"


def _param(label: str) -> str:
    return f"'{PARAMS}'!${param_cell(label)[0]}${param_cell(label)[1:]}"


@dataclass(frozen=True)
class Variant:
    """One helper-table row: a code with no 减免情形 (all its rows on the fast path), or a code
    with one allowed 减免情形."""
    code: Code
    modifier: str | None
    unit: int  # hundredths of a point per case


@dataclass(frozen=True)
class LiveLayout:
    """Where every figure of the 实时计分 sheet lives."""
    rules: Rules
    check_header: int = 4

    CHECKS = ("台账非空行数", "已计入行数", "待核对行数", "情形代码非空行数", "情形代码已识别行数", "日期非空行数",
              "数量非空行数", "日期数量有效行数", "数量非整数行数", "指标序号未核对行数", "减免情形未核对行数",
              "未填情形代码的行数", f"第{LAST_ROW}行以下的行数", "精算（1=逐行核对）", "台账末行（精算用）",
              "参数待核对项数")

    def check_row(self, name: str) -> int:
        return self.check_header + 1 + self.CHECKS.index(name)

    def check(self, name: str) -> str:
        return f"$B${self.check_row(name)}"

    @property
    def exact_nonblank(self) -> str:
        """The exact path's count of the log's rows that hold anything (beside 台账非空行数)."""
        return f"$C${self.check_row('台账非空行数')}"

    @property
    def param_header(self) -> int:
        return self.check_header + len(self.CHECKS) + 2

    @cached_property
    def param_rows(self) -> dict[str, int]:
        """The 参数 values the formulas use, each with a check (column B) and a value (column C)."""
        labels = [PARAM_YEAR, PARAM_SATISFACTION, *PARAM_RANKS]
        return {label: self.param_header + 1 + i for i, label in enumerate(labels)}

    @property
    def variant_header(self) -> int:
        return max(self.param_rows.values()) + 2

    @cached_property
    def variants(self) -> list[Variant]:
        out = []
        for code in self.rules.codes.values():
            out.append(Variant(code, None, _cents(code.points, f"情形 {code.code} 的分值")))
            for name in code.modifiers:
                factor = self.rules.modifiers[name].factor
                out.append(Variant(code, name, _cents(code.points * factor, f"情形 {code.code}（{name}）的分值")))
        return out

    def variant_row(self, index: int) -> int:
        return self.variant_header + 1 + index

    @property
    def item_header(self) -> int:
        return self.variant_row(len(self.variants)) + 1

    def item_row(self, no: int) -> int:
        return self.item_header + no

    def item_cell(self, no: int) -> str:
        return f"$D${self.item_row(no)}"

    @property
    def block_header(self) -> int:
        return self.item_row(len(self.rules.items)) + 2

    def block_row(self, block_id: str) -> int:
        return self.block_header + 1 + [b.id for b in self.rules.blocks].index(block_id)

    def block_cell(self, block_id: str) -> str:
        return f"$D${self.block_row(block_id)}"

    @property
    def bonus_row(self) -> int:
        return self.block_row(self.rules.blocks[-1].id) + 2

    @property
    def deduction_row(self) -> int:
        return self.bonus_row + 1

    @property
    def total_row(self) -> int:
        return self.bonus_row + 2


class _Formulas:
    """Builds the formula texts (without the leading "=") of one rules year."""

    def __init__(self, rules: Rules):
        self.rules = rules
        self.at = LiveLayout(rules)
        year = rules.year  # COUNTIFS criteria: a date in 考评年度 and a 数量 of at least 1
        self.in_year = (f'{_column("A")},">="&DATE({year},1,1),{_column("A")},"<"&DATE({year + 1},1,1),'
                        f'{_column("D")},">=1"')

    # -- the log, per variant -------------------------------------------------------------------
    def _patterns(self, code: Code) -> tuple[str, str]:
        return code.code, code.display

    def _fast(self, function: str, variant: Variant) -> str:
        """SUMIFS or COUNTIFS over both forms of the code (bare, dropdown text), one criterion each
        (two with a 减免情形, whose column comes first: it is mostly empty, so it is quick)."""
        first = f'{_column("D")},' if function == "SUMIFS" else ""
        modifier = f'{_column("E")},{_criterion(variant.modifier)},' if variant.modifier else ""
        return "+".join(f'{function}({first}{modifier}{_column("C")},{_criterion(p)})'
                        for p in self._patterns(variant.code))

    def _mask(self, variant: Variant) -> str:
        """Per row, 1 where it counts for this variant exactly as `score` counts it."""
        c, a, b, d, e = (_used_rows(x, self.at.check("台账末行（精算用）")) for x in "CABDE")
        bare, display = (_text(p) for p in self._patterns(variant.code))
        year = self.rules.year
        modifier = _text(variant.modifier or "")
        return (f"(({c}={bare})+({c}={display}))*ISNUMBER({a})*({a}>=DATE({year},1,1))*({a}<DATE({year + 1},1,1))"
                f"*ISNUMBER({d})*({d}>=1)*ISERROR(1/(MOD({d},1)>0))*(({b}=\"\")+({b}={variant.code.item}))"
                f"*({e}={modifier})")

    def variant_cells(self, index: int, variant: Variant) -> dict[str, str]:
        """E/F 数量/行数（快速）, L/M 数量/行数（逐行）, G/H the one in force, J 小计, K 情形计分 (on a
        code's own row)."""
        row = self.at.variant_row(index)
        exact = self.at.check("精算（1=逐行核对）")
        siblings = [self.at.variant_row(i) for i, v in enumerate(self.at.variants)
                    if v.code.code == variant.code.code and v.modifier]  # codes by name: cheaper than whole records
        cells = {f"E{row}": self._fast("SUMIFS", variant), f"F{row}": self._fast("COUNTIFS", variant)}
        minus = "".join(f"-E{r}" for r in siblings) if variant.modifier is None else ""
        minus_count = "".join(f"-F{r}" for r in siblings) if variant.modifier is None else ""
        mask = self._mask(variant)
        amounts = _used_rows("D", self.at.check("台账末行（精算用）"))
        cells[f"L{row}"] = f"IF({exact}=1,IFERROR(SUMPRODUCT({mask},{amounts}),0),0)"
        cells[f"M{row}"] = f"IF({exact}=1,IFERROR(SUMPRODUCT({mask}),0),0)"
        cells[f"G{row}"] = f"IF({exact}=1,L{row},E{row}{minus})"
        cells[f"H{row}"] = f"IF({exact}=1,M{row},F{row}{minus_count})"
        cells[f"J{row}"] = f"G{row}*I{row}"
        if variant.modifier is None:
            subtotal = "+".join([f"J{row}"] + [f"J{r}" for r in siblings])
            cap = variant.code.cap
            cells[f"K{row}"] = f"MIN({_cents(cap, '情形上限')},{subtotal})" if cap is not None else subtotal
        return cells

    # -- checks ---------------------------------------------------------------------------------
    def check_cells(self) -> dict[str, str]:
        """The fast path is exact when every row that holds anything has a known code, a date in
        考评年度 and a whole 数量 ≥ 1, and its 指标序号 and 减免情形 fit the code; else `精算`."""
        at = self.at
        check, beyond = at.check, f"第{LAST_ROW}行以下的行数"
        first, last = at.variant_row(0), at.variant_row(len(at.variants) - 1)
        code_rows = [at.variant_row(i) for i, v in enumerate(at.variants) if not v.modifier]
        modifier_rows = [at.variant_row(i) for i, v in enumerate(at.variants) if v.modifier]
        last_row = check("台账末行（精算用）")
        nonblank = "+".join(f'({_used_rows(x, last_row)}<>"")' for x in "ABCDEFGH")
        whole_log = f"'{LEDGER}'!$A$2:$H${LAST_ROW}"
        items = sorted({v.code.item for v in at.variants})
        fitting = "+".join(f'COUNTIFS({_column("B")},{no},{_column("C")},"{no}.*")' for no in items)
        strays = "+".join(f'COUNTIFS({_column(x)},"<>",{_column("C")},"")' for x in "BEFGH")
        recognised = check("情形代码已识别行数")
        exactness_fails = [f"{check(n)}<>{recognised}" for n in ("情形代码非空行数", "日期非空行数", "数量非空行数",
                                                                  "日期数量有效行数")]
        exactness_fails += [f"{check(n)}<>0" for n in ("数量非整数行数", "指标序号未核对行数", "减免情形未核对行数",
                                                         "未填情形代码的行数")]
        formulas = {
            check("台账非空行数"): f'IF({check("精算（1=逐行核对）")}=1,{at.exact_nonblank},'
                                 f'{check("情形代码非空行数")})+{check(beyond)}',
            at.exact_nonblank: f'IF({check("精算（1=逐行核对）")}=1,SUMPRODUCT(--(({nonblank})>0)),0)',
            # rows, counted by their fullest column (a row holds one cell per column)
            check(beyond): "MAX(" + ",".join(f"COUNTA('{LEDGER}'!${x}${LAST_ROW + 1}:${x}$1048576)"
                                             for x in "ABCDEFGH") + ")",
            check("已计入行数"): f"SUM(H{first}:H{last})",
            check("待核对行数"): f'{check("台账非空行数")}-{check("已计入行数")}',
            check("情形代码非空行数"): f"COUNTA({_column('C')})",
            check("情形代码已识别行数"): "+".join(f"F{r}" for r in code_rows),
            check("日期非空行数"): f"COUNTA({_column('A')})",
            check("数量非空行数"): f"COUNTA({_column('D')})",
            check("日期数量有效行数"): f'COUNTIFS({_column("C")},"<>",{self.in_year})',
            check("数量非整数行数"): f"SUMPRODUCT(--NOT(ISERROR(1/(MOD({_column('D')},1)>0))))",
            check("指标序号未核对行数"): f"COUNTA({_column('B')})-({fitting})",
            check("减免情形未核对行数"): f"COUNTA({_column('E')})-(" + "+".join(f"F{r}" for r in modifier_rows) + ")",
            check("未填情形代码的行数"): strays,
            check("精算（1=逐行核对）"): f"IF(OR({','.join(exactness_fails)}),1,0)",
            check("台账末行（精算用）"): f'IF({check("精算（1=逐行核对）")}=1,'
                                     f'MAX(2,SUMPRODUCT(MAX(ROW({whole_log})*({whole_log}<>"")))),2)',
            check("参数待核对项数"): "+".join(f"B{r}" for r in at.param_rows.values()),
        }
        return {ref.replace("$", ""): text for ref, text in formulas.items()}

    def param_cells(self) -> dict[str, str]:
        """B: 1 when the 参数 value is not what `score` accepts; C: the value the items use."""
        rows = self.at.param_rows
        year, cell = _param(PARAM_YEAR), _param(PARAM_SATISFACTION)
        y, s = rows[PARAM_YEAR], rows[PARAM_SATISFACTION]
        # what the cell shows: 92.5% typed in Excel is stored as 0.925 in a percent format ("P…")
        sat = f'({cell}*IF(LEFT(CELL("format",{cell}),1)="P",100,1))'
        cells = {
            f"B{y}": f"IFERROR(IF({year}={self.rules.year},0,1),1)",
            # satisfaction in hundredths of a percent: more decimals cannot be computed exactly
            f"B{s}": f'IFERROR(IF({cell}="",0,IF(ISNUMBER({cell}),IF(AND({sat}>=0,{sat}<=100,'
                     f'ABS({sat}*100-ROUND({sat}*100,0))<0.000001),0,1),1)),1)',
            f"C{s}": f'IF(AND(B{s}=0,ISNUMBER({cell})),ROUND({sat}*100,0),"")',
        }
        for label in PARAM_RANKS:
            rank, r = _param(label), rows[label]
            cells[f"B{r}"] = (f'IFERROR(IF({rank}="",0,IF(ISNUMBER({rank}),'
                              f'IF(AND({rank}>=1,{rank}=INT({rank})),0,1),1)),1)')
            cells[f"C{r}"] = f'IF(AND(B{r}=0,ISNUMBER({rank})),{rank},"")'
        return cells

    # -- items, blocks, total -------------------------------------------------------------------
    def item_formula(self, item: Item) -> str:
        at = self.at
        if item.kind in ("deduction", "bonus"):
            rows = [at.variant_row(i) for i, v in enumerate(at.variants) if v.code.item == item.no and not v.modifier]
            return f"MIN({_cents(item.cap, f'第{item.no}项上限')},{'+'.join(f'K{r}' for r in rows)})"
        if item.kind == "rank":
            values = [f"C{at.param_rows[label]}" for label in PARAM_RANKS]
            places = "+".join(f"IF(ISNUMBER({v}),MAX(0,{v}-{item.rank.free_places}),0)" for v in values)
            per_place = _cents(item.rank.per_place, f"第{item.no}项每名次分值")
            return f"MIN({_cents(item.cap, f'第{item.no}项上限')},{per_place}*({places}))"
        # survey: remaining × (1 − satisfaction/100), half up to the cent, from whole hundredths
        block = self.rules.block_of(item.no)
        deducted = "+".join(at.item_cell(no) for no in item.survey.deducted_items)
        remaining = f"MAX(0,{_cents(block.points, f'分块 {block.id} 分值')}-({deducted}))"
        value = f"C{at.param_rows[PARAM_SATISFACTION]}"
        return f"IF(ISNUMBER({value}),INT(({remaining}*(10000-{value})+5000)/10000),0)"

    def block_formula(self, block) -> str:
        deducted = "+".join(self.at.item_cell(no) for no in block.items if self.rules.item(no).kind != "bonus")
        return f"MAX(0,{_cents(block.points, f'分块 {block.id} 分值')}-({deducted}))"

    def summary_cells(self) -> dict[str, str]:
        at, rules = self.at, self.rules
        cells = {f"D{at.item_row(i.no)}": self.item_formula(i) for i in rules.items}
        cells.update({f"D{at.block_row(b.id)}": self.block_formula(b) for b in rules.blocks})
        bonus = "+".join(at.item_cell(i.no) for i in rules.items if i.kind == "bonus") or "0"
        cells[f"D{at.bonus_row}"] = f"MIN({_cents(rules.bonus_cap, '加分上限')},{bonus})"
        cells[f"D{at.deduction_row}"] = "+".join(
            at.item_cell(i.no) for i in rules.items if i.kind != "bonus")
        cells[f"D{at.total_row}"] = "+".join(at.block_cell(b.id) for b in rules.blocks) + f"+$D${at.bonus_row}"
        return cells

    def note(self) -> str:
        """任务清单's 合计 note: the parts of the total, or why the live total cannot be trusted."""
        at = self.at
        live = f"'{LIVE}'!"
        pending, params = live + at.check("待核对行数"), live + at.check("参数待核对项数")
        total, bonus = f"{live}$D${at.total_row}", f"{live}$D${at.bonus_row}"
        before, after = PENDING_NOTE.split("{n}")
        return (f'IF({pending}+{params}=0,"各分块得分合计 "&FIXED(({total}-{bonus})/100,2,1)&"，加分 "'
                f'&FIXED({bonus}/100,2,1),IF({pending}>0,{_text(before)}&{pending}&{_text(after)},'
                f'"参数有误，以“重新计算”结果为准"))')


def pending_row_rule(rules: Rules) -> tuple[str, str]:
    """Conditional formatting of 扣分台账: the range, and the formula (for its first row) that is
    true on a row the live formulas do not count, so that the row itself shows it."""
    at, year = LiveLayout(rules), rules.year
    first, last = at.variant_row(0), at.variant_row(len(at.variants) - 1)
    column = lambda letter: f"'{LIVE}'!${letter}${first}:${letter}${last}"  # noqa: E731
    codes, modifiers, displays, items = (column(x) for x in "ABCD")
    k = f"IFERROR(MATCH($C2,{codes},0),MATCH($C2,{displays},0))"
    counts = (f"AND(ISNUMBER($A2),$A2>=DATE({year},1,1),$A2<DATE({year + 1},1,1),ISNUMBER($D2),$D2>=1,"
              f'$D2=INT($D2),OR($B2="",$B2=INDEX({items},{k})),'
              f'OR($E2="",COUNTIFS({codes},INDEX({codes},{k}),{modifiers},$E2)>0))')
    return f"A2:H{LAST_ROW}", f"AND(COUNTA($A2:$H2)>0,NOT(IFERROR({counts},FALSE)))"


# The header rows' titles, and what each item kind is called in its row
CHECK_COLUMNS = ("检查", "值", "逐行")
PARAM_COLUMNS = ("参数", "有误（1）", "计算用值")
VARIANT_COLUMNS = ("情形代码", "减免情形", "下拉选项", "序号", "数量（快速）", "行数（快速）", "数量", "行数",
                   "每起（0.01分）", "小计", "情形计分", "数量（逐行）", "行数（逐行）")
ITEM_COLUMNS = ("序号", "类型", "分块", "扣分/加分")
BLOCK_COLUMNS = ("分块", "序号", "分值", "得分")
KINDS = {"deduction": "扣分", "survey": "满意度折算", "rank": "全省排名", "bonus": "加分"}
TOTAL_LABELS = ("加分", "扣分合计", "总分")


def live_headers(rules: Rules) -> dict[int, tuple[str, ...]]:
    """The 实时计分 sheet's header rows: row → column titles from A on."""
    at = LiveLayout(rules)
    return {at.check_header: CHECK_COLUMNS, at.param_header: PARAM_COLUMNS, at.variant_header: VARIANT_COLUMNS,
            at.item_header: ITEM_COLUMNS, at.block_header: BLOCK_COLUMNS}


def live_labels(rules: Rules) -> dict[str, str | int]:
    """The cells that say what each row of 实时计分 holds, and the per-case amounts (column I) the
    formulas multiply by: a sheet with these in place has this version's layout, whatever its formulas."""
    at = LiveLayout(rules)
    cells: dict[str, str | int] = {f"A{at.check_row(name)}": name for name in at.CHECKS}
    cells.update({f"A{row}": label for label, row in at.param_rows.items()})
    for index, variant in enumerate(at.variants):
        row = at.variant_row(index)
        values = (variant.code.code, variant.modifier, variant.code.display, variant.code.item)
        cells.update({f"{col}{row}": value for col, value in zip("ABCD", values) if value is not None})
        cells[f"I{row}"] = variant.unit
    for item in rules.items:
        cells.update(zip((f"{col}{at.item_row(item.no)}" for col in "ABC"), (item.no, KINDS[item.kind], item.block)))
    for block in rules.blocks:
        row = at.block_row(block.id)
        cells.update({f"A{row}": block.id, f"B{row}": f"{block.items[0]}–{block.items[-1]}",
                      f"C{row}": int(block.points * 100)})
    cells.update(zip((f"A{r}" for r in (at.bonus_row, at.deduction_row, at.total_row)), TOTAL_LABELS))
    return cells


_GENERATED: dict[int, tuple[weakref.ref, dict[str, str]]] = {}


def live_sheet_formulas(rules: Rules) -> dict[str, str]:
    """Every formula of the 实时计分 sheet, by cell (a fresh dict; generated once per rules object,
    since every read of a workbook compares its sheet with them)."""
    known = _GENERATED.get(id(rules))
    if known is None or known[0]() is not rules:
        known = (weakref.ref(rules), _generate(rules))
        _GENERATED[id(rules)] = known
    return dict(known[1])


def _generate(rules: Rules) -> dict[str, str]:
    f = _Formulas(rules)
    cells = {**f.check_cells(), **f.param_cells()}
    for index, variant in enumerate(f.at.variants):
        cells.update(f.variant_cells(index, variant))
    cells.update(f.summary_cells())
    return cells


def owned_formulas(rules: Rules) -> dict[str, dict[str, str]]:
    """The formulas of the cells `score` owns in 任务清单 and 得分汇总, by sheet and cell."""
    f, at = _Formulas(rules), LiveLayout(rules)
    form, summary = FormLayout(rules), SummaryLayout(rules)
    live = f"'{LIVE}'!"
    form_cells, summary_cells = {}, {}
    for item in rules.items:
        form_cells[form.deduction_cell(item.no)] = f"{live}{at.item_cell(item.no)}/100"
        summary_cells[f"D{summary.item_row(item.no)}"] = f"{live}{at.item_cell(item.no)}/100"
    for block in rules.blocks:
        form_cells[form.block_score_cell(block.id)] = f"{live}{at.block_cell(block.id)}/100"
        summary_cells[f"D{summary.block_row(block.id)}"] = f"{live}{at.block_cell(block.id)}/100"
    form_cells[f"I{form.total_row}"] = f"{live}$D${at.deduction_row}/100"
    form_cells[f"J{form.total_row}"] = f"{live}$D${at.total_row}/100"
    form_cells[f"K{form.total_row}"] = f.note()
    summary_cells[f"D{summary.bonus_row}"] = f"{live}$D${at.bonus_row}/100"
    summary_cells[f"D{summary.total_row}"] = f"{live}$D${at.total_row}/100"
    return {FORM: form_cells, SUMMARY: summary_cells}
