"""Starting and stopping the local server (`xlpipeline web`).

It listens on 127.0.0.1 only, on a free port unless one is asked for, prints its address with the
access token as the first line on standard output, opens the browser, and stops cleanly on Ctrl+C
or the page's 退出 button. Its address is kept in the user's config folder (readable by the user
alone), so that a second start while one runs opens the running one instead of failing."""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path

from xlpipeline.errors import FileProblem
from xlpipeline.web.guard import COOKIE
from xlpipeline.mail.transport import config_dir
from xlpipeline.web.state import State
from xlpipeline.web.wpslink import load_link

HOST = "127.0.0.1"


def instance_file() -> Path:
    return config_dir() / "web.json"


def running() -> str | None:
    """The address of a server of ours that answers, if one runs for this user."""
    try:
        known = json.loads(instance_file().read_text(encoding="utf-8"))
        port, token = int(known["port"]), str(known["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ping = urllib.request.Request(f"http://{HOST}:{port}/api/ping", headers={"Cookie": f"{COOKIE}={token}"})
    try:
        with urllib.request.urlopen(ping, timeout=2) as answer:
            if json.load(answer).get("app") == "xlpipeline":
                return address(port, token)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return None


def address(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/?token={token}"


def listen(port: int | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if os.name != "nt":  # Windows' SO_REUSEADDR would let a second server share the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port or 0))
    except OSError:
        sock.close()
        raise FileProblem(f"端口 {port} 已被其他程序占用：换一个端口（--port），或不加 --port 自动选择") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def listen_for(port: int | None, link) -> socket.socket:
    """The port asked for; else the WPS tab's (its add-in knows no other) while it is free; else any."""
    if port is not None or link is None:
        return listen(port)
    try:
        return listen(link.port)
    except FileProblem:
        print(f"端口 {link.port} 已被占用：WPS 的“模范机关考评”选项卡将连接不到本服务"
              f"（可运行 xlpipeline wps install --port 其他端口）", file=sys.stderr)
        return listen(None)


def serve(target: Path | None, port: int | None = None, browser: bool = True) -> None:
    already = running()
    if already:
        print(already, flush=True)
        print("模范机关考评页面已在运行，已为您打开它。", file=sys.stderr)
        if browser:
            webbrowser.open(already)
        return
    start, workbook = where(target)
    link = load_link()
    sock = listen_for(port, link)
    state = State(port=sock.getsockname()[1], start=start, wps_token=link.token if link else None)
    if workbook is not None:
        state.choose(workbook)
    import uvicorn
    from xlpipeline.web.app import create_app
    server = uvicorn.Server(uvicorn.Config(create_app(state, on_quit=lambda: setattr(server, "should_exit", True)),
                                           log_level="warning", lifespan="off", timeout_graceful_shutdown=5))
    url = address(state.port, state.token)
    try:  # Ctrl+C at any moment from here stops cleanly
        remember(state.port, state.token)
        print(url, flush=True)
        print("模范机关考评页面已启动（仅本机可访问）。关闭本窗口或按 Ctrl+C 停止。", file=sys.stderr, flush=True)
        if browser:
            threading.Timer(0.3, webbrowser.open, [url]).start()
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl+C, then raises the signal again
        print("已停止。", file=sys.stderr)
    finally:
        forget(state.token)
        state.close()


def where(target: Path | None) -> tuple[Path, Path | None]:
    """The folder the folder view opens at, and the workbook to preselect."""
    if target is None:
        return Path.home(), None
    target = target.expanduser().resolve()
    if target.is_dir():
        return target, None
    if not target.is_file():
        raise FileProblem(f"{target}: 文件或文件夹不存在")
    return target.parent, target


def remember(port: int, token: str) -> None:
    path = instance_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the token is the user's alone
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({"port": port, "token": token, "pid": os.getpid()}, out)


def forget(token: str) -> None:
    try:
        if json.loads(instance_file().read_text(encoding="utf-8")).get("token") == token:
            instance_file().unlink()
    except (OSError, ValueError):
        pass
