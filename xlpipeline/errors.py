"""Errors meant for the user: Chinese text, no traceback, a documented exit code."""
from __future__ import annotations


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
