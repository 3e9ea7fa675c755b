"""Every workbook part we write is valid SpreadsheetML (ISO/IEC 29500 transitional): Excel repairs or
refuses what LibreOffice forgives. The schemas live in ../shared/ooxml-schemas."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import SCHEMAS
from xlpipeline.ooxml.parts import sheet_parts
from xlpipeline.pipeline import score_workbook

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def as_read(data: bytes) -> etree._Element:
    """The part as a consumer validates it: mc:Ignorable namespaces and xml:space dropped."""
    root = etree.fromstring(data)
    ignorable = {root.nsmap.get(p) for p in (root.get(f"{{{MC}}}Ignorable") or "").split()}
    for element in list(root.iter()):
        if isinstance(element.tag, str) and etree.QName(element).namespace in ignorable:
            element.getparent().remove(element)
            continue
        for name in list(element.attrib):
            if name == XML_SPACE or etree.QName(name).namespace in ignorable | {MC}:
                del element.attrib[name]
    return root


def assert_valid(path: Path, sml) -> None:
    with zipfile.ZipFile(path) as z:
        parts = list(sheet_parts(z).values()) + ["xl/workbook.xml", "xl/styles.xml"]
        for part in parts:
            root = as_read(z.read(part))
            assert sml.validate(root), f"{path.name}:{part}: {sml.error_log.last_error}"


def test_new_workbook_is_valid(blank_workbook, sml):
    assert_valid(blank_workbook, sml)


def test_scored_workbook_is_valid(make_workbook, sml):
    from datetime import date
    path = make_workbook([(date(2026, 3, 1), None, "9.D", 3), (date(2026, 3, 2), 12, "12.B", 1, "非市管干部")],
                         satisfaction=93.5, rank=(7, 8))
    score_workbook(path)
    assert_valid(path, sml)


def test_sheets_added_to_a_users_workbook_are_valid(tmp_path, sml, cli):
    from corpus import decorated
    path = decorated(tmp_path / "装饰.xlsx")
    assert cli("init", path, "--add")[0] == 0
    assert cli("score", path)[0] == 0
    assert_valid(path, sml)


@pytest.fixture(scope="module")
def custom_xml_properties():
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "shared-customXmlDataProperties.xsd")))


def test_an_attachment_with_embedded_results_is_valid(tmp_path, sml, custom_xml_properties, cli):
    from xlpipeline.outputs.embed import SCHEMA
    from xlpipeline.resources import DEMO_WORKBOOK
    out = tmp_path / "附件.xlsx"
    assert cli("submit", DEMO_WORKBOOK, "--out", out)[0] == 0
    assert_valid(out, sml)
    with zipfile.ZipFile(out) as z:
        props = z.read("customXml/itemProps1.xml")
        assert custom_xml_properties.validate(etree.fromstring(props)), custom_xml_properties.error_log.last_error
        assert SCHEMA.encode() in props
        types = z.read("[Content_Types].xml").decode()
        assert 'PartName="/customXml/itemProps1.xml"' in types and "customXmlProperties+xml" in types
        assert b"../customXml/item1.xml" in z.read("xl/_rels/workbook.xml.rels")


def test_an_earlier_versions_workbook_with_new_formulas_is_valid(tmp_path, sml, cli):
    import shutil
    path = tmp_path / "旧.xlsx"
    shutil.copy(Path(__file__).parent / "earlier" / "演示_af4991e.xlsx", path)
    assert cli("score", path)[0] == 0
    assert_valid(path, sml)
