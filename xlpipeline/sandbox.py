"""The jinja sandbox every template runs in: cell templates, the 扣分说明 and the mail texts.

jinja's own sandbox stops templates from reaching Python internals, but leaves their size and time
open: a repeated string or list, a power, nested range() loops. This one bounds those too, and turns
constant folding off so that what a template computes reaches our checks as a value.
"""
from __future__ import annotations

import math
from decimal import Decimal

from jinja2 import StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_TEXT = 32767         # characters: Excel's limit for a cell, and for any string a template builds
MAX_STEPS = 1_000_000    # range() steps in one render: loops end in time
MAX_POWER_BITS = 4096    # how large a power may grow


class BoundedSandbox(SandboxedEnvironment):
    """jinja's sandbox with bounds on a repeated string or list, a power, and the steps of range()
    loops in one render (jinja caps one range at 100,000); `steps` is reset by the renderer."""
    intercepted_binops = frozenset(["*", "**"])

    def __init__(self):
        super().__init__(undefined=StrictUndefined, autoescape=False, optimized=False)
        self.steps = 0
        self.globals["range"] = self._range

    def _range(self, *args):
        numbers = range(*args)
        if len(numbers) > MAX_STEPS - self.steps:
            raise SecurityError(f"循环次数过多（一次生成最多 {MAX_STEPS} 次）")
        self.steps += len(numbers)
        return numbers

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            for text, times in ((left, right), (right, left)):
                if isinstance(text, (str, list, tuple)) and isinstance(times, int) and len(text) * times > MAX_TEXT:
                    raise SecurityError(f"重复生成的内容过长（超过 {MAX_TEXT} 个字符或元素）")
        elif operator == "**" and _power_too_large(left, right):
            raise SecurityError("乘方的结果过大")
        return super().call_binop(context, operator, left, right)


def _power_too_large(base, exponent) -> bool:
    if not all(isinstance(n, (int, float, Decimal)) and not isinstance(n, bool) for n in (base, exponent)):
        return False
    size = abs(float(base))
    return size > 1 and float(exponent) * math.log2(size) > MAX_POWER_BITS



# what a template can do wrong, each told to the user as a template error
FAILURES = (TemplateError, TypeError, ValueError, ArithmeticError, RecursionError, MemoryError)
