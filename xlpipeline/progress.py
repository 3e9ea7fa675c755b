"""Progress of long work: a bar on a terminal (tqdm, on stderr), or a callback for the local page.

`progress` is True (a bar where stderr is a terminal), False (nothing), or a function
`report(done, total, label)` that the web page's jobs pass in; `total` 0 means a step of unknown
length (a PDF conversion)."""
from __future__ import annotations

import sys
from typing import Callable, Iterable, Iterator, TypeVar, Union

from tqdm import tqdm

T = TypeVar("T")
Report = Callable[[int, int, str], None]
Progress = Union[bool, Report]


def steps(items: Iterable[T], label: str, progress: Progress) -> Iterator[T]:
    """`items`, one at a time, with progress shown as `progress` says."""
    if not callable(progress):
        yield from tqdm(items, desc=label, unit="个", file=sys.stderr, disable=None if progress else True)
        return
    items = list(items)
    for done, item in enumerate(items):
        progress(done, len(items), label)
        yield item
    progress(len(items), len(items), label)


def phase(progress: Progress, label: str) -> None:
    """A step of unknown length begins (shown on the page only)."""
    if callable(progress):
        progress(0, 0, label)
