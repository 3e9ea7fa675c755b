"""Custom XML data parts (ECMA-376 part 1, 15.2.5): a document's own data, which Excel keeps when it
saves and which prints nowhere. A part is `customXml/itemN.xml`, its properties `itemPropsN.xml`
(a GUID and the schema it follows), a relationship from the workbook to the item, and one from
the item to its properties.
"""
from __future__ import annotations

import hashlib
import re
import uuid
import zipfile
from itertools import count
from typing import BinaryIO

from lxml import etree

from xlpipeline.ooxml.package import CONTENT_TYPES, CT_NS, PKG_REL_NS, parse_xml, read_part
from xlpipeline.ooxml.parts import free_rel_id, part_is_free, serialize
from xlpipeline.ooxml.zipwrite import rewrite_package

CUSTOM_XML_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"
PROPS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXmlProps"
PROPS_CT = "application/vnd.openxmlformats-officedocument.customXmlProperties+xml"
DS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/customXml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
ITEM = re.compile(r"customXml/item\d+\.xml", re.I)


def add_custom_xml(source: BinaryIO, out: BinaryIO, item: bytes, schema: str) -> None:
    """Copy the package `source` to `out` with `item` (an XML document following `schema`, a
    namespace URI) added as a custom XML part; every other part is copied as it is."""
    with zipfile.ZipFile(source) as zin:
        taken = {name.lower() for name in zin.namelist()}
        n = next(k for k in count(1) if part_is_free(taken, f"customXml/item{k}.xml")
                 and part_is_free(taken, f"customXml/itemProps{k}.xml"))
        rels = parse_xml(read_part(zin, WORKBOOK_RELS), WORKBOOK_RELS)
        etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id=free_rel_id(rels), Type=CUSTOM_XML_TYPE,
                         Target=f"../customXml/item{n}.xml")
        types = parse_xml(read_part(zin, CONTENT_TYPES), CONTENT_TYPES)
        for part, kind in ((f"/customXml/itemProps{n}.xml", PROPS_CT), (f"/customXml/item{n}.xml", "application/xml")):
            etree.SubElement(types, f"{{{CT_NS}}}Override", PartName=part, ContentType=kind)
        added = {f"customXml/item{n}.xml": item,
                 f"customXml/itemProps{n}.xml": _properties(schema, item),
                 f"customXml/_rels/item{n}.xml.rels": _item_rels(n)}
        source.seek(0)
        rewrite_package(source, zin, out, {WORKBOOK_RELS: serialize(rels), CONTENT_TYPES: serialize(types)}, added)


def read_custom_xml(zin: zipfile.ZipFile, namespace: str) -> list[etree._Element]:
    """The package's custom XML parts whose root element is in `namespace`, by part name. Found by
    name, not through the workbook's relationships: LibreOffice keeps the parts when it saves but
    moves their relationship to the package's own `_rels/.rels`."""
    found = []
    for part in sorted(n for n in zin.namelist() if ITEM.fullmatch(n)):
        root = parse_xml(read_part(zin, part), part)
        if etree.QName(root).namespace == namespace:
            found.append(root)
    return found


def _properties(schema: str, item: bytes) -> bytes:
    """The item's properties; its ID follows from its content, so the same data gives the same file."""
    root = etree.Element(f"{{{DS_NS}}}datastoreItem", nsmap={"ds": DS_NS})
    item_id = uuid.uuid5(uuid.NAMESPACE_URL, schema + hashlib.sha256(item).hexdigest())
    root.set(f"{{{DS_NS}}}itemID", "{" + str(item_id).upper() + "}")
    refs = etree.SubElement(root, f"{{{DS_NS}}}schemaRefs")
    etree.SubElement(refs, f"{{{DS_NS}}}schemaRef").set(f"{{{DS_NS}}}uri", schema)
    return serialize(root)


def _item_rels(n: int) -> bytes:
    root = etree.Element(f"{{{PKG_REL_NS}}}Relationships", nsmap={None: PKG_REL_NS})
    etree.SubElement(root, f"{{{PKG_REL_NS}}}Relationship", Id="rId1", Type=PROPS_TYPE, Target=f"itemProps{n}.xml")
    return serialize(root)
