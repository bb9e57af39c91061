"""Define-XML 2.1 describing the ADaM datasets the followup service exports.

An ODM 1.3.2 document with the Define-XML 2.1 extensions: one ItemGroupDef per dataset (class,
structure, keys, the XPT file it describes), one ItemDef per variable (type, length, label, display
format, origin) and a CodeList per controlled variable. Built from the same metadata as the XPT
and Dataset-JSON files (rescue_followup.domain.adam), so the three cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from rescue_followup.adapters.dataset_json import METADATA_VERSION_OID, STUDY_OID, item_oid
from rescue_followup.domain.adam import ADAMIG_VERSION, STUDYID, Dataset, Variable

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ET.register_namespace("", ODM_NS)
ET.register_namespace("def", DEF_NS)
ET.register_namespace("xlink", XLINK_NS)

_ODM_TYPES = {"text": "text", "integer": "integer", "date": "integer"}


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _description(parent: ET.Element, text: str) -> None:
    description = ET.SubElement(parent, _odm("Description"))
    ET.SubElement(description, _odm("TranslatedText"), {XML_LANG: "en"}).text = text


def codelist_oid(dataset: Dataset, var: Variable) -> str:
    return f"CL.{dataset.name}.{var.name}"


def _item_group(mdv: ET.Element, dataset: Dataset) -> None:
    group = ET.SubElement(mdv, _odm("ItemGroupDef"), {
        "OID": f"IG.{dataset.name}", "Name": dataset.name, "SASDatasetName": dataset.name,
        "Repeating": "No" if dataset.name == "ADSL" else "Yes", "IsReferenceData": "No",
        "Purpose": "Analysis", _def("Structure"): dataset.structure,
        _def("StandardOID"): "STD.ADAMIG", _def("ArchiveLocationID"): f"LF.{dataset.name}",
    })
    _description(group, dataset.label)
    for order, var in enumerate(dataset.variables, start=1):
        ref = {"ItemOID": item_oid(dataset, var), "Mandatory": "Yes" if var.key else "No",
               "OrderNumber": str(order)}
        if var.key is not None:
            ref["KeySequence"] = str(var.key)
        ET.SubElement(group, _odm("ItemRef"), ref)
    ET.SubElement(group, _def("Class"), {"Name": dataset.adam_class})
    leaf = ET.SubElement(group, _def("leaf"), {
        "ID": f"LF.{dataset.name}", f"{{{XLINK_NS}}}href": f"{dataset.name.lower()}.xpt"})
    ET.SubElement(leaf, _def("title")).text = f"{dataset.name.lower()}.xpt"


def _item(mdv: ET.Element, dataset: Dataset, var: Variable) -> None:
    attrs = {"OID": item_oid(dataset, var), "Name": var.name, "SASFieldName": var.name,
             "DataType": _ODM_TYPES[var.data_type]}
    if var.data_type == "text":
        attrs["Length"] = str(var.length)
    if var.display_format:
        attrs[_def("DisplayFormat")] = var.display_format
    item = ET.SubElement(mdv, _odm("ItemDef"), attrs)
    _description(item, var.label)
    if var.codelist:
        ET.SubElement(item, _odm("CodeListRef"), {"CodeListOID": codelist_oid(dataset, var)})
    ET.SubElement(item, _def("Origin"), {"Type": var.origin})


def _codelist(mdv: ET.Element, dataset: Dataset, var: Variable) -> None:
    codelist = ET.SubElement(mdv, _odm("CodeList"), {
        "OID": codelist_oid(dataset, var), "Name": f"{dataset.name} {var.name}",
        "DataType": _ODM_TYPES[var.data_type]})
    for rank, value in enumerate(var.codelist, start=1):
        ET.SubElement(codelist, _odm("EnumeratedItem"),
                      {"CodedValue": value, "OrderNumber": str(rank)})


def write_define_xml(datasets: Sequence[Dataset], *, created_at: dt.datetime) -> bytes:
    """Define-XML 2.1 (UTF-8 bytes) for the given datasets."""
    stamp = created_at.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    odm = ET.Element(_odm("ODM"), {
        "FileType": "Snapshot", "FileOID": f"{STUDY_OID}.DEFINE", "ODMVersion": "1.3.2",
        "CreationDateTime": stamp, "Originator": "RESCUE trial platform",
        _def("Context"): "Submission",
    })
    study = ET.SubElement(odm, _odm("Study"), {"OID": STUDY_OID})
    global_vars = ET.SubElement(study, _odm("GlobalVariables"))
    ET.SubElement(global_vars, _odm("StudyName")).text = STUDYID
    ET.SubElement(global_vars, _odm("StudyDescription")).text = (
        "RESCUE (NCT07295132): secondary cytoreductive surgery in platinum-sensitive recurrent "
        "ovarian cancer selected by KELIM")
    ET.SubElement(global_vars, _odm("ProtocolName")).text = STUDYID
    mdv = ET.SubElement(study, _odm("MetaDataVersion"), {
        "OID": METADATA_VERSION_OID, "Name": "RESCUE ADaM datasets",
        _def("DefineVersion"): "2.1.0"})
    standards = ET.SubElement(mdv, _def("Standards"))
    ET.SubElement(standards, _def("Standard"), {
        "OID": "STD.ADAMIG", "Name": "ADaMIG", "Type": "IG", "Version": ADAMIG_VERSION,
        "Status": "Final"})
    for dataset in datasets:
        _item_group(mdv, dataset)
    for dataset in datasets:
        for var in dataset.variables:
            _item(mdv, dataset, var)
    for dataset in datasets:
        for var in dataset.variables:
            if var.codelist:
                _codelist(mdv, dataset, var)
    ET.indent(odm)
    return bytes(ET.tostring(odm, encoding="UTF-8", xml_declaration=True))
