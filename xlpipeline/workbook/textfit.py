"""How tall a row must be for wrapped text: Excel does not resize rows by itself when it opens a
file, so whoever writes long text sets the height. An estimate, erring on the generous side."""
from __future__ import annotations

import math

LINE_HEIGHT = 16.0  # points per line of 11-point text in Noto Sans CJK, which LibreOffice substitutes


def display_units(text: str) -> int:
    """Width in column-width units: CJK and full-width characters take two, others one."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def wrapped_lines(text: str, width: float) -> int:
    """Lines `text` wraps to in a column `width` units wide (margins and wider glyphs of the
    official fonts take about a tenth)."""
    usable = max(width * 0.9 - 1, 1)
    return sum(max(1, math.ceil(display_units(line) / usable)) for line in str(text).split("\n"))


def row_height(texts_and_widths, minimum_lines: int = 1) -> float:
    """Points needed for the tallest of the given (text, column width) pairs."""
    lines = max([minimum_lines] + [wrapped_lines(t, w) for t, w in texts_and_widths if t])
    return lines * LINE_HEIGHT
