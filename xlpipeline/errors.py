"""Errors meant for the user: Chinese text, no traceback, a documented exit code."""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path


class UserError(Exception):
    """A problem the user can fix. The message is shown as is; `exit_code` is the CLI's."""
    exit_code = 2


class FileProblem(UserError):
    """The file cannot be used: missing, not a workbook, a sheet missing, open elsewhere."""
    exit_code = 2


class InputErrors(UserError):
    """The workbook's content has mistakes, each given as `sheet!cell: message`."""
    exit_code = 1

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages

    def located(self) -> list[tuple[str, str, str]]:
        """Each message as (sheet, cell, text); sheet and cell are "" where a message names none."""
        out = []
        for message in self.messages:
            match = _CELL.match(message)
            out.append((match["sheet"], match["ref"], message[match.end():]) if match else ("", "", message))
        return out


_CELL = re.compile(r"^(?P<sheet>[^!\n]+)!(?P<ref>[A-Z]{1,3}[0-9]+): ")


def crash_log() -> Path:
    """The traceback of the exception being handled, written to a new file in the temp folder (a
    bug is told in one line that names this file, never as a traceback on screen)."""
    import traceback
    from xlpipeline import __version__
    handle, name = tempfile.mkstemp(prefix="xlpipeline-错误-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8") as log:
        log.write(f"xlpipeline {__version__}\n{' '.join(sys.argv)}\n\n{traceback.format_exc()}")
    return Path(name)


def bug_message() -> str:
    return f"程序内部错误（不是您的操作问题）：详细信息已写入 {crash_log()}，请把该文件发给维护人员"
