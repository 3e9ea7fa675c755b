"""Cached values for a rendered sheet's formulas, so that readers which do not calculate (calamine,
openpyxl's data_only, mail and phone previews) show the figures, not empty totals.

Only what a form's totals need is understood: numbers, references and ranges in the same sheet,
SUM, + - * / and parentheses, in exact decimals. Any other formula keeps no cached value, and
Excel, WPS and LibreOffice compute it on load as before.
"""
from __future__ import annotations

import operator
import re
from decimal import Decimal, InvalidOperation

from lxml import etree

from xlpipeline.ooxml.parts import column_index, q

TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<range>\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?)"
                   r"|(?P<function>SUM)\(|(?P<op>[-+*/(),]))")
CELL = re.compile(r"\$?([A-Z]{1,3})\$?(\d+)")


OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


class Unsupported(Exception):
    """A formula (or a value it needs) this module does not compute."""


def cache_formulas(sheet_data: etree._Element) -> None:
    """Give every formula cell of a rendered sheet the value it computes, where it can be computed."""
    cells = {_position(c.get("r")): c for c in sheet_data.iter(q("c"))}
    sheet = _Sheet(cells)
    for position, cell in cells.items():
        formula = cell.find(q("f"))
        if formula is None:
            continue
        try:
            value = sheet.value(position)
        except (Unsupported, ArithmeticError):  # ArithmeticError: a division by zero, as Excel's #DIV/0!
            continue
        cell.attrib.pop("t", None)
        etree.SubElement(cell, q("v")).text = format(value, "f")
        formula.addnext(cell[-1])  # <v> right after <f>, as CT_Cell orders them


def _position(ref: str) -> tuple[int, int]:
    column, row = CELL.fullmatch(ref).groups()
    return int(row), column_index(column)


class _Sheet:
    def __init__(self, cells: dict[tuple[int, int], etree._Element]):
        self.cells, self.known, self.busy = cells, {}, set()

    def value(self, position: tuple[int, int]):
        """A cell's number (Decimal), None when empty, or its type ("s", "inlineStr", "b"…) otherwise."""
        if position in self.known:
            return self.known[position]
        cell = self.cells.get(position)
        if cell is None:
            return None
        formula = cell.find(q("f"))
        if formula is not None:
            if position in self.busy:
                raise Unsupported("circular reference")
            self.busy.add(position)
            try:
                value = _Parser(formula.text or "", self).parse()
            finally:
                self.busy.discard(position)
        else:
            value = _stored(cell)
        self.known[position] = value
        return value


def _stored(cell: etree._Element):
    kind = cell.get("t", "n")
    if kind == "e":
        raise Unsupported("an error value")
    if kind != "n":
        return kind  # text or a boolean: SUM skips it, arithmetic refuses it
    v = cell.find(q("v"))
    if v is None or not v.text:
        return None
    try:
        return Decimal(v.text)
    except InvalidOperation:
        raise Unsupported(v.text) from None


class _Parser:
    """expression := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*;
    factor := number | cell | '-' factor | '(' expression ')' | SUM '(' argument (',' argument)* ')'."""

    def __init__(self, text: str, sheet: _Sheet):
        self.tokens, self.at, self.sheet = self._tokens(text), 0, sheet

    @staticmethod
    def _tokens(text: str) -> list[tuple[str, str]]:
        tokens, at = [], 0
        while at < len(text.rstrip()):
            match = TOKEN.match(text, at)
            if not match:
                raise Unsupported(text[at:])
            tokens.append((match.lastgroup, match[match.lastgroup]))
            at = match.end()
        return tokens

    def parse(self) -> Decimal:
        value = self._expression()
        if self.at != len(self.tokens):
            raise Unsupported("trailing tokens")
        return value

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def _take(self, op: str) -> bool:
        if self._peek() == ("op", op):
            self.at += 1
            return True
        return False

    def _expression(self) -> Decimal:
        return self._chain(self._term, ("+", "-"))

    def _term(self) -> Decimal:
        return self._chain(self._factor, ("*", "/"))

    def _chain(self, operand, operators: tuple[str, ...]) -> Decimal:
        """operand (operator operand)…, left to right."""
        value = operand()
        while self._peek()[0] == "op" and self._peek()[1] in operators:
            op = self._peek()[1]
            self.at += 1
            value = OPERATORS[op](value, operand())
        return value

    def _factor(self) -> Decimal:
        kind, text = self._peek()
        self.at += 1
        if kind == "number":
            return Decimal(text)
        if kind == "range" and ":" not in text:
            return _number(self.sheet.value(_position(text)))
        if (kind, text) == ("op", "-"):
            return -self._factor()
        if (kind, text) == ("op", "("):
            value = self._expression()
            if not self._take(")"):
                raise Unsupported("unbalanced parentheses")
            return value
        if kind == "function":
            return self._sum()
        raise Unsupported(text)

    def _sum(self) -> Decimal:
        total = Decimal(0)
        while True:
            kind, text = self._peek()
            if kind == "range":
                self.at += 1
                total += sum((v for v in self._range(text) if isinstance(v, Decimal)), Decimal(0))
            else:
                total += self._expression()
            if self._take(")"):
                return total
            if not self._take(","):
                raise Unsupported("SUM arguments")

    def _range(self, text: str):
        first, _, last = text.partition(":")
        (top, left), (bottom, right) = _position(first), _position(last or first)
        for row in range(min(top, bottom), max(top, bottom) + 1):
            for column in range(min(left, right), max(left, right) + 1):
                yield self.sheet.value((row, column))


def _number(value) -> Decimal:
    if value is None:
        return Decimal(0)  # an empty cell counts as 0, as in Excel
    if not isinstance(value, Decimal):
        raise Unsupported("text in arithmetic")
    return value
