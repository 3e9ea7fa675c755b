"""What one run of the server holds: its secrets, the workbook being worked on, and the files it
may serve. The page never names a path: every file or folder it may act on was registered here by
the server and is named by an opaque id, which dies with the server."""
from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from xlpipeline.mail.transport import config_dir
from xlpipeline.web.jobs import Jobs

RECENT_KEPT = 8


@dataclass
class Download:
    path: Path
    name: str       # the name the browser saves it under
    media: str


@dataclass
class State:
    port: int
    start: Path                       # the folder the folder view opens at
    workbook: Path | None = None
    copy: bool = False                # the workbook is an uploaded copy in `scratch`
    wps_token: str | None = None      # the WPS tab's token (see wpslink), where the tab is installed
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="xlpipeline-web-")))
    jobs: Jobs = field(default_factory=Jobs)
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) shown once
    _places: dict[str, Path] = field(default_factory=dict)
    _place_keys: dict[Path, str] = field(default_factory=dict)
    _downloads: dict[str, Download] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def place(self, path: Path) -> str:
        """An id for a folder or workbook the folder view shows."""
        with self._lock:
            if path not in self._place_keys:
                key = secrets.token_urlsafe(12)
                self._places[key], self._place_keys[path] = path, key
            return self._place_keys[path]

    def place_of(self, key: str) -> Path | None:
        with self._lock:
            return self._places.get(key)

    def publish(self, path: Path, name: str | None = None) -> str:
        """An id under which `path`, a file this run made, may be downloaded."""
        media = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12", ".pdf": "application/pdf",
                 ".zip": "application/zip", ".json": "application/json", ".png": "image/png",
                 ".csv": "text/csv", ".ics": "text/calendar"}.get(path.suffix.lower(), "application/octet-stream")
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._downloads[key] = Download(path, name or path.name, media)
        return key

    def download(self, key: str) -> Download | None:
        with self._lock:
            return self._downloads.get(key)

    def flash(self, kind: str, text: str) -> None:
        with self._lock:
            self.flashes.append((kind, text))

    def take_flashes(self) -> list[tuple[str, str]]:
        with self._lock:
            taken, self.flashes = self.flashes, []
            return taken

    def choose(self, workbook: Path, copy: bool = False) -> None:
        self.workbook, self.copy = workbook, copy
        if not copy:
            remember(workbook)

    def work_folder(self, name: str) -> Path:
        """A new folder in the scratch space, for one upload or one job."""
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch))
        return folder

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def recent() -> list[Path]:
    """The workbooks chosen on earlier runs, latest first, those that still exist."""
    try:
        paths = json.loads((config_dir() / "recent.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Path(p) for p in paths if isinstance(p, str) and Path(p).is_file()][:RECENT_KEPT]


def remember(workbook: Path) -> None:
    paths = [str(workbook)] + [str(p) for p in recent() if p != workbook]
    try:
        config_dir().mkdir(parents=True, exist_ok=True)
        (config_dir() / "recent.json").write_text(json.dumps(paths[:RECENT_KEPT], ensure_ascii=False), encoding="utf-8")
    except OSError:
        pass  # a list of recent files is a convenience, never a reason to fail
