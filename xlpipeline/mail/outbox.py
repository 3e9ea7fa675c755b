"""The outbox: every message's state, so that each is sent exactly once.

A message is keyed by assessment round, recipient unit, recipient addresses and the SHA-256 of its
attachments. States: pending → sending → sent, or failed (nothing reached the server: safe to
retry), or unknown (the connection dropped after the message went out: maybe delivered). An
unknown message — and one left in `sending` by a run that died — is never retried on its own.

One run at a time uses an outbox: it holds an exclusive lock on a file beside it for as long as it is
open (an OS lock, so a killed run releases it). A second run is refused rather than left to plan
from states the first has not yet recorded.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from xlpipeline.errors import FileProblem
from xlpipeline.names import OUTBOX_NAME  # noqa: F401 (re-exported)

INTERRUPTED = "上次发送在这封邮件途中中断，可能已送达"
SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY,
    round TEXT NOT NULL,
    unit TEXT NOT NULL,
    recipients TEXT NOT NULL,
    attachments_sha256 TEXT NOT NULL,
    message_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    detail TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rounds (round TEXT PRIMARY KEY, report_date TEXT NOT NULL);
"""


class Outbox:
    def __init__(self, path: Path):
        self.path = path
        self.lock = FileLock(path.with_name(path.name + ".lock"))
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            raise FileProblem(f"{path.parent}: 另一个发送任务正在使用这个文件夹的发件记录，请等它结束后再运行") from None
        except OSError as exc:
            raise FileProblem(f"{path.parent}: 无法锁定发件记录：{exc.strerror or exc}") from None
        try:
            self._open()
        except BaseException:
            self.lock.release()
            raise

    def _open(self) -> None:
        path = self.path
        try:
            self.db = sqlite3.connect(path, isolation_level=None)  # autocommit: each state change is durable
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise FileProblem(f"{path}: 无法打开发件记录：{exc}") from None
        # we hold the lock, so a message still `sending` belongs to a run that died mid-message
        self.db.execute("UPDATE messages SET state = 'unknown', detail = ? WHERE state = 'sending'",
                        (INTERRUPTED,))

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            self.lock.release()

    def report_date(self, round_name: str, today: date) -> date:
        """The date printed on this round's attachments: fixed at the first send, so that a later
        run produces the same files (and the same hashes)."""
        self.db.execute("INSERT OR IGNORE INTO rounds VALUES (?, ?)", (round_name, today.isoformat()))
        (stored,) = self.db.execute("SELECT report_date FROM rounds WHERE round = ?", (round_name,)).fetchone()
        return date.fromisoformat(stored)

    def state(self, key: str) -> tuple[str, str] | None:
        with closing(self.db.execute("SELECT state, detail FROM messages WHERE key = ?", (key,))) as rows:
            row = rows.fetchone()
        return tuple(row) if row else None

    def record(self, key: str, round_name: str, unit: str, recipients: list[str], digest: str, message_id: str,
               state: str, detail: str = "") -> None:
        self.db.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "state = excluded.state, detail = excluded.detail, updated = excluded.updated",
            (key, round_name, unit, ", ".join(recipients), digest, message_id, state, detail,
             datetime.now().isoformat(timespec="seconds")))
