"""CDISC Dataset-JSON v1.1 documents of ADaM datasets.

One JSON object per dataset: the metadata of Dataset-JSON 1.1 (creation time, study and
metadata-version OIDs pointing at the Define-XML), `columns` described from the shared variable
metadata, and `rows` as arrays in column order. Dates are ISO 8601 strings with
`dataType: "date"` and `targetDataType: "integer"` (a SAS date when converted back to XPT).
Keys and rows keep a fixed order, so the same data and creation time give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rescue_followup.domain.adam import STUDYID, Dataset, Value, Variable

DATASET_JSON_VERSION = "1.1.0"
STUDY_OID = f"STUDY.{STUDYID}"
METADATA_VERSION_OID = "MDV.RESCUE.ADAM.1"
DEFINE_FILE = "define.xml"


def item_oid(dataset: Dataset, var: Variable) -> str:
    return f"IT.{dataset.name}.{var.name}"


def _column(dataset: Dataset, var: Variable) -> dict[str, Any]:
    column: dict[str, Any] = {"itemOID": item_oid(dataset, var), "name": var.name,
                              "label": var.label}
    if var.data_type == "text":
        column.update(dataType="string", length=var.length)
    elif var.data_type == "integer":
        column.update(dataType="integer")
    else:
        column.update(dataType="date", targetDataType="integer", displayFormat="DATE9.")
    if var.key is not None:
        column["keySequence"] = var.key
    return column


def _json_value(value: Value) -> str | int | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def write_dataset_json(
    dataset: Dataset, rows: Sequence[Mapping[str, Value]], *, created_at: dt.datetime,
    source_version: str,
) -> bytes:
    """The dataset as Dataset-JSON 1.1 (UTF-8 bytes)."""
    stamp = created_at.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None).isoformat()
    document = {
        "datasetJSONCreationDateTime": stamp,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"{STUDY_OID}.{dataset.name}",
        "dbLastModifiedDateTime": stamp,
        "originator": "RESCUE trial platform (followup service)",
        "sourceSystem": {"name": "rescue-followup", "version": source_version},
        "studyOID": STUDY_OID,
        "metaDataVersionOID": METADATA_VERSION_OID,
        "metaDataRef": DEFINE_FILE,
        "itemGroupOID": f"IG.{dataset.name}",
        "records": len(rows),
        "name": dataset.name,
        "label": dataset.label,
        "columns": [_column(dataset, v) for v in dataset.variables],
        "rows": [[_json_value(row.get(v.name)) for v in dataset.variables] for row in rows],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
