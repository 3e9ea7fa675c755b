"""The 模范机关考评 icon that starts the local page, so that nobody types a command again.

Linux (and UOS, Kylin, which read the same format): a desktop entry (freedesktop Desktop Entry
Specification) in the applications menu and on the desktop. Windows: shortcuts in the Start menu
and on the desktop, made by PowerShell through the shell's own WScript.Shell object."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from xlpipeline.errors import UserError

NAME = "模范机关考评"
ENTRY = "xlpipeline-web.desktop"


def install() -> list[Path]:
    return _windows_install() if os.name == "nt" else _linux_install()


def remove() -> list[Path]:
    removed = []
    for path in (_windows_places() if os.name == "nt" else _linux_places()):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def interpreter() -> Path:
    """The Python that runs us; on Windows its console-less twin, so no black window stays open."""
    python = Path(sys.executable)
    quiet = python.with_name("pythonw.exe")
    return quiet if os.name == "nt" and quiet.exists() else python


def _exec_arg(value: str) -> str:
    """One argument of a desktop entry's Exec key, quoted as the specification asks."""
    if re.fullmatch(r"[\w./+@:-]+", value, re.ASCII):
        return value
    return '"' + re.sub(r'(["`$\\])', r"\\\1", value) + '"'


def desktop_entry() -> str:
    command = " ".join(_exec_arg(a) for a in (str(interpreter()), "-m", "xlpipeline", "web"))
    return "\n".join(["[Desktop Entry]", "Type=Application", f"Name={NAME}", f"Name[zh_CN]={NAME}",
                      "Comment=创建模范机关考评：计分、生成附件、发送与汇总", f"Exec={command.replace('%', '%%')}",
                      "Icon=x-office-spreadsheet", "Terminal=false", "Categories=Office;", ""])


def _desktop_folder() -> Path:
    """The user's desktop: XDG_DESKTOP_DIR from user-dirs.dirs (桌面 on a Chinese desktop), else ~/Desktop."""
    home = Path.home()
    dirs = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "user-dirs.dirs"
    try:
        found = re.search(r'^XDG_DESKTOP_DIR="(.+)"', dirs.read_text(encoding="utf-8"), re.M)
    except OSError:
        found = None
    if found:
        return Path(found.group(1).replace("$HOME", str(home)))
    return next((home / n for n in ("桌面", "Desktop") if (home / n).is_dir()), home / "Desktop")


def _linux_places() -> list[Path]:
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return [data / "applications" / ENTRY, _desktop_folder() / ENTRY]


def _linux_install() -> list[Path]:
    text = desktop_entry().encode("utf-8")
    written = []
    for path in _linux_places():
        if path.parent == _desktop_folder() and not path.parent.is_dir():
            continue  # no desktop folder (a server without a desktop): the menu entry is enough
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
        path.chmod(0o755)  # desktops run only executable entries placed on the desktop
        written.append(path)
    return written


def _windows_places() -> list[Path]:
    appdata, profile = Path(os.environ.get("APPDATA", "")), Path(os.environ.get("USERPROFILE", Path.home()))
    return [appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / f"{NAME}.lnk",
            profile / "Desktop" / f"{NAME}.lnk"]


def shortcut_script(link: Path) -> str:
    """PowerShell that makes one shortcut to `python -m xlpipeline web` (single-quoted strings: no
    expansion of anything in the paths)."""
    quote = lambda s: "'" + str(s).replace("'", "''") + "'"  # noqa: E731
    return "; ".join([
        "$s = (New-Object -ComObject WScript.Shell).CreateShortcut(" + quote(link) + ")",
        f"$s.TargetPath = {quote(interpreter())}", "$s.Arguments = '-m xlpipeline web'",
        f"$s.WorkingDirectory = {quote(Path.home())}", f"$s.Description = {quote(NAME)}", "$s.Save()"])


def _windows_install() -> list[Path]:
    written = []
    for link in _windows_places():
        link.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["powershell", "-NoProfile", "-NonInteractive", "-Command", shortcut_script(link)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"无法创建快捷方式 {link}：{done.stderr.strip()}")
        written.append(link)
    return written
