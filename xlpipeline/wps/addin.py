"""The WPS 加载项's files, and installing them for the current user.

The ribbon is generated from the Excel add-in's (`macros/customUI14.xml`): the same tab, groups,
buttons, labels and order, and the same callback names, which `static/main.js` defines. Installed
offline, as WPS reads add-ins from the user's `jsaddons` folder (Windows
`%APPDATA%\\kingsoft\\wps\\jsaddons`, Linux `~/.local/share/Kingsoft/wps/jsaddons`): the files go into
a folder of their own there, and one `<jsplugin>` line in that folder's `publish.xml` registers it.
Uninstalling removes exactly that folder and that line (and `publish.xml` if install made it)."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from lxml import etree

from xlpipeline import __version__
from xlpipeline.errors import FileProblem
from xlpipeline.resources import CUSTOM_UI
from xlpipeline.web.wpslink import Link, link_file, make_link

NAME = "xlpipeline"
FOLDER = f"{NAME}_{__version__}"
WPS_UI = "http://schemas.microsoft.com/office/2006/01/customui"  # the CustomUI namespace WPS reads
STATIC = Path(__file__).resolve().parent / "static"
ENTRY = (f'  <jsplugin name="{NAME}" type="et" url="{FOLDER}" version="{__version__}" enable="enable_dev" '
         'install="null" customDomain=""/>\n')
EMPTY = '<?xml version="1.0" encoding="UTF-8"?>\n<jsplugins>\n</jsplugins>\n'


def jsaddons() -> Path:
    if os.name == "nt":
        return Path(os.environ["APPDATA"]) / "kingsoft" / "wps" / "jsaddons"
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "Kingsoft" / "wps" / "jsaddons"


def ribbon_xml() -> bytes:
    """The Excel ribbon in WPS's CustomUI namespace, loading the add-in through OnAddinLoad."""
    source = etree.fromstring(CUSTOM_UI.read_bytes())
    old = source.nsmap[None]

    def copy(element, parent=None):
        name = etree.QName(element).localname
        made = etree.Element(f"{{{WPS_UI}}}{name}", nsmap={None: WPS_UI}) if parent is None \
            else etree.SubElement(parent, f"{{{WPS_UI}}}{name}")
        for key, value in element.attrib.items():
            made.set(key, value)
        for child in element:
            if isinstance(child.tag, str) and etree.QName(child).namespace == old:
                copy(child, made)
        return made

    root = copy(source)
    root.set("onLoad", "OnAddinLoad")
    root.insert(0, etree.Comment(" 模范机关考评 (WPS): generated from the Excel add-in's customUI14.xml; "
                                 "each onAction is a function of main.js "))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def addin_files(link: Link) -> dict[str, bytes]:
    config = f"// written by xlpipeline wps install: where the local service listens, and the link's token\n" \
             f"window.XLP = {json.dumps({'port': link.port, 'token': link.token})};\n"
    return {"ribbon.xml": ribbon_xml(), "index.html": (STATIC / "index.html").read_bytes(),
            "main.js": (STATIC / "main.js").read_bytes(), "config.js": config.encode("utf-8")}


def install(port: int | None = None) -> Path:
    """Write the add-in into the user's jsaddons folder and register it; returns its folder. What
    did not exist before (folders, publish.xml, the link's files) is recorded, for uninstall."""
    publish = jsaddons() / "publish.xml"
    made = _recorded() | {str(p) for p in _missing(jsaddons()) + _missing(link_file().parent)}
    made |= {str(publish)} if not publish.exists() else set()
    link = make_link(port)
    folder = jsaddons() / FOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in addin_files(link).items():
            (folder / name).write_bytes(data)
        text = publish.read_text(encoding="utf-8") if publish.exists() else EMPTY
        if "</jsplugins>" not in text:
            raise FileProblem(f"{publish}: 不是 WPS 的加载项列表（没有 </jsplugins>），请检查后再安装")
        text = OURS.sub("", text)
        at = text.rindex("</jsplugins>")
        publish.write_text(text[:at] + ENTRY + text[at:], encoding="utf-8")
    except OSError as exc:
        raise FileProblem(f"{jsaddons()}: 无法写入 WPS 加载项：{exc.strerror or exc}") from None
    _record().write_text(json.dumps(sorted(made), ensure_ascii=False), encoding="utf-8")
    return folder


def uninstall() -> list[Path]:
    """Remove exactly what install added; returns what was removed."""
    made, removed = _recorded(), []
    for folder in jsaddons().glob(f"{NAME}_*"):
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(folder)
    publish = jsaddons() / "publish.xml"
    if publish.exists():
        text = publish.read_text(encoding="utf-8")
        kept = OURS.sub("", text)
        if str(publish) in made and kept == EMPTY:
            publish.unlink()
        elif kept != text:
            publish.write_text(kept, encoding="utf-8")
        removed.append(publish)
    for path in (link_file(), _record()):
        if path.exists():
            path.unlink()
            removed.append(path)
    for name in sorted(made, key=len, reverse=True):  # folders install made, innermost first, if empty
        path = Path(name)
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed


OURS = re.compile(rf'  <jsplugin name="{NAME}" [^\n]*/>\n')


def _missing(folder: Path) -> list[Path]:
    """`folder` and the folders above it that do not exist yet."""
    return [p for p in (folder, *folder.parents) if not p.exists()]


def _record() -> Path:
    return link_file().with_name("wps-installed.json")


def _recorded() -> set[str]:
    try:
        return set(json.loads(_record().read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return set()
