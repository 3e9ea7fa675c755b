"""Long work (generating with PDFs, sending, collecting hundreds of files) runs in a thread of its
own, so that closing the tab stops nothing half-way, and reports its progress to the page. One job
per key (a workbook, or the roll-up) at a time: a double click gets the running job, not a second."""
from __future__ import annotations

import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from xlpipeline.errors import UserError, bug_message


class Busy(Exception):
    def __init__(self, job: "Job"):
        super().__init__(job.id)
        self.job = job


@dataclass
class Job:
    id: str
    kind: str
    key: str
    title: str
    state: str = "running"      # running | done | failed
    label: str = "准备"
    done: int = 0
    total: int = 0
    result: object = None
    error: str = ""

    def report(self, done: int, total: int, label: str) -> None:
        """The `progress` callback the library's long functions take."""
        self.done, self.total, self.label = done, total, label

    def to_json(self) -> dict:
        return {"id": self.id, "state": self.state, "label": self.label, "done": self.done, "total": self.total,
                "error": self.error}


class Jobs:
    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, kind: str, key: str, title: str, work: Callable[[Job], object]) -> Job:
        """Run `work(job)` in a thread; its return value becomes `job.result`. Busy while a job of
        the same key runs."""
        with self._lock:
            self._claim(key)
            job = Job(secrets.token_urlsafe(12), kind, key, title)
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, work), daemon=True, name=f"xlpipeline-{kind}").start()
        return job

    def _claim(self, key: str) -> None:
        if key in self._busy:
            running = next((j for j in self._jobs.values() if j.key == key and j.state == "running"), None)
            raise Busy(running) if running else Busy(Job("", "", key, "正在进行的操作"))
        self._busy.add(key)

    @contextmanager
    def exclusive(self, key: str):
        """Short work done in the request itself, kept from running beside a job of the same key."""
        with self._lock:
            self._claim(key)
        try:
            yield
        finally:
            with self._lock:
                self._busy.discard(key)

    def _run(self, job: Job, work: Callable[[Job], object]) -> None:
        try:
            job.result = work(job)
            job.state = "done"
        except UserError as exc:
            job.error, job.state = str(exc), "failed"
        except OSError as exc:
            job.error, job.state = f"{exc.filename or ''}: {exc.strerror or exc}", "failed"
        except Exception:  # a bug: one line naming the log, as on the command line
            job.error, job.state = bug_message(), "failed"
        finally:
            with self._lock:
                self._busy.discard(job.key)
