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
                      "libreoffice-calc-nogui fonts-noto-cjk；Windows：libreoffice.org），或去掉 --pdf")


def to_pdf(workbooks: list[Path], outdir: Path) -> list[Path]:
    """Convert workbooks to PDF in one LibreOffice run, with a profile of its own (so it neither
    collides with a LibreOffice the user has open nor with another conversion)."""
    if not workbooks:
        return []
    soffice = find_soffice()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlp-lo-") as profile:
        try:
            subprocess.run([soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                            "--convert-to", "pdf", "--outdir", str(outdir), *map(str, workbooks)],
                           check=True, capture_output=True, timeout=TIMEOUT)
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
