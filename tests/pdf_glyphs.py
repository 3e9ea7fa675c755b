"""Which regional forms of the Han characters a PDF prints (issue 25, item 1).

Debian's Noto CJK `.ttc` files hold one CFF shared by the JP, KR, SC, TC and HK faces, so `pdffonts`
prints "…CJKjp…" whichever face LibreOffice chose; the faces differ in which glyph (CID) their cmap
gives a character (骨: SC cid45133, JP cid45132). LibreOffice embeds Type 1 subsets whose glyphs keep
their CID names and whose ToUnicode map names each code's character: so each printed character's CID
can be compared with what the SC face (and the others) would have used.
"""
from __future__ import annotations

import re
import tempfile
from functools import cache
from pathlib import Path

import pypdf
from fontTools import t1Lib
from fontTools.ttLib import TTCollection

NOTO = Path("/usr/share/fonts/opentype/noto")
REGIONS = ("SC", "JP", "KR", "TC", "HK")


@cache
def region_cmaps(style: str, weight: str) -> dict[str, dict[int, int]]:
    """Region → character → CID, from the installed Noto `style` CJK `weight` collection, for the
    characters whose glyph differs between regions (the others tell nothing; kept small, since the
    test processes fork LibreOffice and servers)."""
    faces = {}
    for face in TTCollection(str(NOTO / f"Noto{style}CJK-{weight}.ttc"), lazy=True).fonts:
        family = face["name"].getDebugName(1)
        if "Mono" not in family:
            faces[family.split()[-1]] = face.getBestCmap()
    distinct = {ch for ch, glyph in faces["SC"].items() if any(cmap.get(ch) != glyph for cmap in faces.values())}
    return {region: {ch: _cid(cmap[ch]) for ch in distinct if ch in cmap} for region, cmap in faces.items()}


def _cid(glyph: str) -> int | None:
    found = re.fullmatch(r"cid0*(\d+)", glyph)
    return int(found.group(1)) if found else None


def _to_unicode(data: bytes) -> dict[int, str]:
    """A ToUnicode CMap's single-code entries: code → character (LibreOffice writes bfchar only)."""
    pairs = re.findall(rb"<([0-9A-Fa-f]{2,4})>\s*<([0-9A-Fa-f]{4,8})>", b"".join(
        re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S)))
    return {int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be") for code, text in pairs}


def printed_forms(pdf: Path) -> dict[str, set[str]]:
    """Per embedded Noto CJK face, the regions whose form every regionally distinct character it
    prints has (an empty set: mixed or none), and the characters that told."""
    seen, out = set(), {}
    for page in pypdf.PdfReader(str(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            name = str(font["/BaseFont"])
            if "CJK" not in name or name in seen:
                continue
            seen.add(name)
            cmaps = region_cmaps("Sans" if "Sans" in name else "Serif", "Bold" if "Bold" in name else "Regular")
            with tempfile.NamedTemporaryFile(suffix=".pfa") as program:
                program.write(font["/FontDescriptor"]["/FontFile"].get_object().get_data())
                program.flush()
                t1 = t1Lib.T1Font(program.name)
                t1.parse()
            encoding = t1.font["Encoding"]
            regions, telling = set(REGIONS), []
            for code, text in _to_unicode(font["/ToUnicode"].get_object().get_data()).items():
                cid, ch = _cid(encoding[code]), ord(text)
                if cid is None or ch not in cmaps["SC"]:
                    continue  # the same glyph in every region: tells nothing
                forms = {region: cmaps[region].get(ch) for region in REGIONS}
                telling.append(text)
                regions &= {region for region, form in forms.items() if form == cid}
            out[name] = (regions if telling else set(), "".join(telling))
    return out


def assert_simplified_chinese(pdf: Path) -> None:
    """Every Han character printed in a Noto CJK face has its Simplified-Chinese (SC) form, and
    some of them would have looked different in the Japanese face."""
    faces = printed_forms(pdf)
    assert faces, f"{pdf.name}: no Noto CJK face embedded"
    for name, (regions, telling) in faces.items():
        assert "SC" in regions, f"{pdf.name}: {name} prints {telling[:20]} in the forms of {regions or '混合'}"
        assert telling, f"{pdf.name}: {name}: no character that differs between the regions"
