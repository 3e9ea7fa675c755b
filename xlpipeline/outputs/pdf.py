"""PDF through LibreOffice headless, when it is installed."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from xlpipeline.errors import FileProblem

WINDOWS_SOFFICE = Path(os.environ.get("ProgramFiles", r"C:\Program Files")) / "LibreOffice" / "program" / "soffice.exe"
TIMEOUT = 600


def find_soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    if WINDOWS_SOFFICE.exists():
        return str(WINDOWS_SOFFICE)
    raise FileProblem("未找到 LibreOffice（soffice），无法生成 PDF。请安装 LibreOffice（Debian/Ubuntu：apt install "
                      "libreoffice-calc-nogui fonts-noto-cjk fonts-crosextra-carlito；Windows：libreoffice.org），或去掉 --pdf")


# The official families (GB/T 9704: 仿宋 body text, 小标宋 titles, 黑体 headings), each with the faces to
# take where it is not installed, in order: its usual other names, then the closest Simplified-Chinese
# Noto face (Debian's fonts-noto-cjk). An installed official font is always taken first.
OFFICIAL_FACES = {
    "仿宋_GB2312": ("仿宋", "FangSong", "Noto Serif CJK SC"),
    "仿宋": ("仿宋_GB2312", "FangSong", "Noto Serif CJK SC"),
    "宋体": ("SimSun", "Noto Serif CJK SC"),
    "方正小标宋简体": ("方正小标宋_GBK", "Noto Serif CJK SC"),
    "黑体": ("SimHei", "Noto Sans CJK SC"),
}
BOLD_STAND_IN = "方正小标宋简体"  # a heavy title face: its stand-in is the bold serif
SYSTEM_FONTCONFIG = Path("/etc/fonts/fonts.conf")


def fontconfig(folder: Path) -> dict[str, str]:
    """The environment for LibreOffice with a fontconfig file of our own (where fontconfig is how it
    finds fonts: Linux), mapping the official families as above and preferring Simplified-Chinese faces
    for any other Chinese text; elsewhere nothing changes."""
    if not SYSTEM_FONTCONFIG.exists():
        return dict(os.environ)
    aliases = "".join(f"<alias binding=\"same\"><family>{family}</family><accept>"
                      + "".join(f"<family>{face}</family>" for face in faces) + "</accept></alias>"
                      for family, faces in OFFICIAL_FACES.items())
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f'<include ignore_missing="yes">{SYSTEM_FONTCONFIG}</include>{aliases}'
        f'<match target="pattern"><test name="family"><string>{BOLD_STAND_IN}</string></test>'
        '<edit name="weight" mode="assign"><const>bold</const></edit></match>'
        '<match target="pattern"><edit name="family" mode="append"><string>Noto Sans CJK SC</string></edit></match>'
        "</fontconfig>", encoding="utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(config)}


def to_pdf(workbooks: list[Path], outdir: Path) -> list[Path]:
    """Convert workbooks to PDF in one LibreOffice run, with a profile of its own (so it neither
    collides with a LibreOffice the user has open nor with another conversion) and the official
    families mapped to the closest installed faces (`fontconfig`)."""
    if not workbooks:
        return []
    soffice = find_soffice()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlp-lo-") as profile:
        try:
            subprocess.run([soffice, f"-env:UserInstallation={(Path(profile) / 'user').as_uri()}", "--headless",
                            "--norestore", "--convert-to", "pdf", "--outdir", str(outdir), *map(str, workbooks)],
                           check=True, capture_output=True, timeout=TIMEOUT, env=fontconfig(Path(profile)))
        except subprocess.TimeoutExpired:
            raise FileProblem(f"LibreOffice 转换 PDF 超时（{TIMEOUT} 秒）") from None
        except subprocess.CalledProcessError as exc:
            raise FileProblem(f"LibreOffice 转换 PDF 失败：{exc.stderr.decode(errors='replace').strip()}") from None
    pdfs = [outdir / f"{w.stem}.pdf" for w in workbooks]
    missing = [p.name for p in pdfs if not p.exists()]
    if missing:
        raise FileProblem(f"LibreOffice 没有生成 {'、'.join(missing)}")
    return pdfs


def first_page_png(pdf: Path, out: Path, dpi: int = 60) -> Path | None:
    """The PDF's first page as a PNG at `out` (for a preview), through poppler's pdftoppm; None where
    pdftoppm is not installed or cannot read the file."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        return None
    try:
        subprocess.run([exe, "-png", "-singlefile", "-f", "1", "-l", "1", "-r", str(dpi), str(pdf),
                        str(out.with_suffix(""))], check=True, capture_output=True, timeout=60)
    except (subprocess.SubprocessError, OSError):
        return None
    return out if out.exists() else None
