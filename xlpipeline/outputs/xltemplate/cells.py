"""Cell texts as jinja2 templates, in a sandbox.

A cell holding exactly one `{{ expression }}` takes the expression's value with its type (a
number stays a number, a date a date, None empties the cell); any other text with jinja in it
renders to text. Templates are compiled once per distinct text and reused across renders.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Undefined

from xlpipeline.sandbox import BoundedSandbox

ENV = BoundedSandbox()
SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.S)
ROW_DIRECTIVE = re.compile(r"\{%\s*row\s+for\s+(?P<target>[A-Za-z_]\w*)\s+in\s+(?P<expr>.+?)\s*%\}", re.S)
MERGE_DIRECTIVE = re.compile(r"\{%\s*merge\s+(?P<spec>.+?)\s*%\}", re.S)
KEEP_DIRECTIVE = re.compile(r"\{%\s*keep\s+(?P<key>.+?)\s*%\}", re.S)
MERGE_SPEC = re.compile(r"([A-Z]{1,3})\s*=\s*(\S+)")


def start_render() -> None:
    """A new render: its loops get the whole step budget."""
    ENV.steps = 0


def has_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text


@dataclass(frozen=True)
class Directive:
    """`{%row for item in items %}` (and optionally `{%merge B=item.key … %}` and `{%keep item.key %}`)
    in a row's cell: the row is repeated once per element; in each listed column, consecutive copies
    whose key expression gives equal values are merged; consecutive copies with equal keep keys
    print on one page (the page breaks between them)."""
    target: str
    iterable: str
    merges: tuple[tuple[str, str], ...]
    keep: str | None = None


def take_directives(text: str) -> tuple[Directive | None, str]:
    """The row directive a cell carries, if any, and the cell's text without it."""
    row = ROW_DIRECTIVE.search(text)
    if row is None:
        return None, text
    merge, keep = MERGE_DIRECTIVE.search(text), KEEP_DIRECTIVE.search(text)
    merges = tuple(MERGE_SPEC.findall(merge["spec"])) if merge else ()
    rest = KEEP_DIRECTIVE.sub("", MERGE_DIRECTIVE.sub("", ROW_DIRECTIVE.sub("", text, count=1), count=1), count=1)
    return Directive(row["target"], row["expr"], merges, keep["key"] if keep else None), rest


DOTTED = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\s*$")
_MISSING = object()


@lru_cache(maxsize=4096)
def _compiled(text: str):
    """(kind, compiled): "path" for `{{ a.b.c }}`, "expression" for another lone expression,
    "text" for anything else."""
    single = SINGLE_EXPRESSION.match(text)
    if not single or "{%" in text:
        return "text", ENV.from_string(text)
    dotted = DOTTED.match(single["expr"])
    if dotted:
        return "path", (tuple(dotted[1].split(".")), _expression(single["expr"]))
    return "expression", _expression(single["expr"])


@lru_cache(maxsize=1024)
def _expression(source: str):
    return ENV.compile_expression(source, undefined_to_none=False)


def _lookup(path: tuple[str, ...], context: dict):
    """`a.b.c` the way jinja's sandbox resolves it (item or attribute, no underscore names), without
    building a jinja context: most template cells are such paths. _MISSING where jinja must decide."""
    value = context.get(path[0], _MISSING)
    for name in path[1:]:
        if value is _MISSING:
            break
        found = getattr(value, name, _MISSING)  # jinja tries the attribute first, then the item
        if found is _MISSING:
            value = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
        else:
            value = found if ENV.is_safe_attribute(value, name, found) else _MISSING
    return value


def _defined(value):
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises here: an unknown name, or an attribute the sandbox refused
    return value


def evaluate(expression: str, context: dict):
    return _defined(_expression(expression)(**context))


def render_text(text: str, context: dict):
    """The value of a cell's template text (typed for a lone expression). Raises jinja's errors."""
    kind, compiled = _compiled(text)
    if kind == "text":
        return compiled.render(context)
    if kind == "path":
        path, expression = compiled
        value = _lookup(path, context)
        if value is not _MISSING:
            return value
        compiled = expression  # let jinja say what is missing
    return _defined(compiled(**context))
