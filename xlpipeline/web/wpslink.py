"""How the WPS tab finds the local service: a port and a token of their own, made by `xlpipeline
wps install` and kept (readable by the user alone) in the user's config folder. The add-in carries
them; `xlpipeline web` listens on that port when it is free and no other is asked for, and accepts
the token in a header from the add-in's calls (`/api/wps/…`) and once in the address that opens a
page in WPS's task pane (`/wps/open`)."""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from xlpipeline.mail.transport import config_dir

DEFAULT_PORT = 18427  # unassigned by IANA; `wps install --port` takes another


@dataclass(frozen=True)
class Link:
    port: int
    token: str


def link_file() -> Path:
    return config_dir() / "wps.json"


def load_link() -> Link | None:
    try:
        data = json.loads(link_file().read_text(encoding="utf-8"))
        return Link(int(data["port"]), str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def make_link(port: int | None = None) -> Link:
    """The link, made now (a new token) or kept (its token), on `port` when given."""
    known = load_link()
    link = Link(port or (known.port if known else DEFAULT_PORT), known.token if known else secrets.token_urlsafe(32))
    path = link_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({"port": link.port, "token": link.token}, out)
    return link


def forget_link() -> None:
    link_file().unlink(missing_ok=True)
