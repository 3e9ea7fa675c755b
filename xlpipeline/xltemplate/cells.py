"""Cell texts as jinja2 templates, in a sandbox.

A cell holding exactly one `{{ expression }}` takes the expression's value with its type (a
number stays a number, a date a date, None empties the cell); any other text with jinja in it
renders to text. Templates are compiled once per distinct text and reused across renders.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import SandboxedEnvironment

ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)
ROW_DIRECTIVE = re.compile(r"\{%\s*row\s+for\s+(?P<target>[A-Za-z_]\w*)\s+in\s+(?P<expr>.+?)\s*%\}", re.S)
MERGE_DIRECTIVE = re.compile(r"\{%\s*merge\s+(?P<spec>.+?)\s*%\}", re.S)
MERGE_SPEC = re.compile(r"([A-Z]{1,3})\s*=\s*(\S+)")


def has_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text


@dataclass(frozen=True)
class Directive:
    """`{%row for item in items %}` (and optionally `{%merge B=item.key … %}`) in a row's cell:
    the row is repeated once per element; in each listed column, consecutive copies whose key
    expression gives equal values are merged."""
    target: str
    iterable: str
    merges: tuple[tuple[str, str], ...]


def take_directives(text: str) -> tuple[Directive | None, str]:
    """The row directive a cell carries, if any, and the cell's text without it."""
    row = ROW_DIRECTIVE.search(text)
    if row is None:
        return None, text
    merge = MERGE_DIRECTIVE.search(text)
    merges = tuple(MERGE_SPEC.findall(merge["spec"])) if merge else ()
    rest = MERGE_DIRECTIVE.sub("", ROW_DIRECTIVE.sub("", text, count=1), count=1)
    return Directive(row["target"], row["expr"], merges), rest


@lru_cache(maxsize=4096)
def _compiled(text: str):
    single = SINGLE_EXPRESSION.match(text)
    if single and "{%" not in text:
        return True, ENV.compile_expression(single["expr"], undefined_to_none=False)
    return False, ENV.from_string(text)


@lru_cache(maxsize=1024)
def _expression(source: str):
    return ENV.compile_expression(source, undefined_to_none=False)


def evaluate(expression: str, context: dict):
    value = _expression(expression)(**context)
    if isinstance(value, Undefined):
        str(value)
    return value


def render_text(text: str, context: dict):
    """The value of a cell's template text (typed for a lone expression). Raises jinja's errors."""
    is_expression, compiled = _compiled(text)
    if not is_expression:
        return compiled.render(context)
    value = compiled(**context)
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises here: an unknown name, or an attribute the sandbox refused
    return value

