"""Submission exports as a statistician receives them: ADSL and ADTTE as SAS XPT v5, Dataset-JSON
1.1 and CSV, and the Define-XML describing them; every format carries the same values."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest

from rescue_shared.testing import RunningService, auth

pytestmark = pytest.mark.integration
TODAY = dt.date.today()
STATISTICIAN = auth(None, "statistician")
SAS_EPOCH = dt.date(1960, 1, 1)
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
ADTTE_CSV_COLUMNS = ["USUBJID", "ARM", "STRATA", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR",
                     "EVNTDESC", "CNSDTDSC", "INVALFL"]
DATES = {"RANDDT", "STARTDT", "ADT"}
NUMBERS = {"AVAL", "CNSR"}


async def small_trial(
    register: Callable[..., Awaitable[Any]], record: Callable[..., Awaitable[Any]],
    invalidate: Callable[..., Awaitable[Any]],
) -> None:
    """Six subjects on two sites: progressions, a death, censorings, one invalidation."""
    for i in range(6):
        subject_id, site = f"S0{1 + i % 2}-{i:04d}", f"S0{1 + i % 2}"
        start = TODAY - dt.timedelta(days=600 - 20 * i)
        await register(subject_id, site=site, arm="SCS_CHEMO" if i % 2 else "CHEMO",
                       randomized=start, stratum={"kelim": "favourable" if i < 3
                                                  else "unfavourable", "residual": "none"})
        for k in range(1, 3 + i % 2):
            day = start + dt.timedelta(days=90 * k)
            body = {"type": "recist", "date": day.isoformat(),
                    "target_lesion_sum_mm": 90.0 if (i == 1 and k == 2) else 50.0,
                    "new_lesions": False, "non_target_progression": False}
            assert (await record(subject_id, body, site=site)).status_code == 201
        if i == 4:
            death = {"type": "death", "date": (start + dt.timedelta(days=300)).isoformat(),
                     "cause": "cardiac"}
            assert (await record(subject_id, death, site=site)).status_code == 201
    await invalidate("S02-0003", "S02")


async def get(followup: RunningService, path: str, **headers: str) -> Any:
    response = await followup.client.get(path, headers=STATISTICIAN | headers)
    assert response.status_code == 200, response.text
    return response


def read_xpt(content: bytes, tmp_path: Path) -> tuple[pd.DataFrame, Any]:
    """The file as pandas reads it (as the issue asks), and its metadata as ReadStat reads it."""
    frame = pd.read_sas(io.BytesIO(content), format="xport", encoding="utf-8")
    path = tmp_path / "data.xpt"
    path.write_bytes(content)
    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    return frame, meta


def as_csv_text(column: str, value: Any) -> str:
    """An XPT value written as the CSV writes it (SAS dates are days since 1960-01-01)."""
    if column in DATES:
        return (SAS_EPOCH + dt.timedelta(days=int(value))).isoformat()
    if column in NUMBERS:
        return str(int(value))
    return str(value)


def assert_same_values(frame: pd.DataFrame, table: list[dict[str, str]],
                       columns: list[str]) -> None:
    assert len(frame) == len(table)
    for row, expected in zip(frame.to_dict("records"), table, strict=True):
        assert {c: as_csv_text(c, row[c]) for c in columns} == {c: expected[c] for c in columns}


async def test_xpt_files_read_back_with_the_values_of_the_csv(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], invalidate: Callable[..., Awaitable[Any]],
    tmp_path: Path,
) -> None:
    await small_trial(register, record, invalidate)

    adsl_csv = list(csv.DictReader(io.StringIO((await get(followup,
                                                           "/v1/exports/adsl.csv")).text)))
    response = await get(followup, "/v1/exports/adsl.xpt")
    assert response.headers["content-type"] == "application/x-sas-xport"
    assert 'filename="adsl.xpt"' in response.headers["content-disposition"]
    adsl, meta = read_xpt(response.content, tmp_path)
    assert meta.table_name == "ADSL" and meta.file_label == "Subject-Level Analysis Dataset"
    assert all(len(name) <= 8 for name in meta.column_names)
    assert meta.column_names_to_labels["STRATAR"] == "Strata as Randomized"
    assert meta.column_names_to_labels["STRATAV"] == "Strata as Verified"
    assert meta.original_variable_types["RANDDT"] == "DATE9"
    assert_same_values(adsl, adsl_csv, list(adsl.columns))
    assert [r["USUBJID"] for r in adsl_csv] == sorted(r["USUBJID"] for r in adsl_csv)
    flags = {r["USUBJID"]: (r["ITTFL"], r["INVALFL"], r["SENSFL"]) for r in adsl_csv}
    assert flags["S02-0003"] == ("Y", "Y", "N") and flags["S01-0000"] == ("Y", "N", "Y")
    assert {r["STRATAR"] for r in adsl_csv} == {"kelim=favourable;residual=none",
                                                  "kelim=unfavourable;residual=none"}
    assert all(r["STRATAV"] == r["STRATAR"] for r in adsl_csv)  # nothing verified yet

    adtte_csv = list(csv.DictReader(io.StringIO((await get(followup,
                                                            "/v1/exports/adtte.csv")).text)))
    adtte, meta = read_xpt((await get(followup, "/v1/exports/adtte.xpt")).content, tmp_path)
    assert meta.table_name == "ADTTE"
    assert_same_values(adtte, adtte_csv, ADTTE_CSV_COLUMNS)
    assert set(adtte["EVNTDESC"]) >= {"Disease Progression", "Death"}


async def test_dataset_json_and_define_xml_describe_the_same_datasets(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], invalidate: Callable[..., Awaitable[Any]],
    tmp_path: Path,
) -> None:
    await small_trial(register, record, invalidate)
    define = ET.fromstring((await get(followup, "/v1/exports/define.xml")).content)
    item_defs = {i.get("OID"): i for i in define.iter(f"{ODM}ItemDef")}
    codelists = {c.get("OID") for c in define.iter(f"{ODM}CodeList")}
    groups = {g.get("Name"): g for g in define.iter(f"{ODM}ItemGroupDef")}
    assert set(groups) == {"ADSL", "ADTTE"}

    for name in ("adsl", "adtte"):
        document = json.loads((await get(followup, f"/v1/exports/{name}.json")).content)
        assert document["datasetJSONVersion"] == "1.1.0" and document["name"] == name.upper()
        assert document["metaDataRef"] == "define.xml"
        table = list(csv.DictReader(io.StringIO((await get(
            followup, f"/v1/exports/{name}.csv")).text)))
        columns = [c["name"] for c in document["columns"]]
        assert document["records"] == len(document["rows"]) == len(table)
        as_text = [{c: "" if v is None else str(v) for c, v in zip(columns, row, strict=True)}
                   for row in document["rows"]]
        shared = [c for c in columns if c in table[0]]
        assert [{c: r[c] for c in shared} for r in as_text] == [
            {c: r[c] for c in shared} for r in table]

        _, meta = read_xpt((await get(followup, f"/v1/exports/{name}.xpt")).content, tmp_path)
        assert columns == meta.column_names
        refs = [r.get("ItemOID") for r in groups[name.upper()].iter(f"{ODM}ItemRef")]
        assert refs == [c["itemOID"] for c in document["columns"]]
        for column in document["columns"]:
            item = item_defs[column["itemOID"]]
            assert item.get("Name") == column["name"]
            label = item.find(f"{ODM}Description/{ODM}TranslatedText")
            assert label is not None and label.text == column["label"]
            assert column["label"] == meta.column_names_to_labels[column["name"]]
            ref = item.find(f"{ODM}CodeListRef")
            assert ref is None or ref.get("CodeListOID") in codelists


async def test_a_cutoff_leaves_out_subjects_randomized_after_it(
    followup: RunningService, register: Callable[..., Awaitable[Any]],
    record: Callable[..., Awaitable[Any]], invalidate: Callable[..., Awaitable[Any]],
    tmp_path: Path,
) -> None:
    await small_trial(register, record, invalidate)
    cutoff = TODAY - dt.timedelta(days=600 - 20 * 3)  # subjects 0-3 randomized by then
    response = await get(followup, f"/v1/exports/adsl.xpt?cutoff={cutoff}")
    assert f'filename="adsl-{cutoff}.xpt"' in response.headers["content-disposition"]
    adsl, _ = read_xpt(response.content, tmp_path)
    assert list(adsl["USUBJID"]) == ["S01-0000", "S01-0002", "S02-0001", "S02-0003"]


async def test_only_the_statistician_and_the_monitor_export(followup: RunningService) -> None:
    for path in ("/v1/exports/adsl.xpt", "/v1/exports/adtte.json", "/v1/exports/define.xml"):
        assert (await followup.client.get(path)).status_code == 401
        for role in ("site_user", "investigator"):
            response = await followup.client.get(path, headers=auth("S01", role))
            assert response.status_code == 403
        assert (await followup.client.get(path, headers=auth(None, "monitor"))).status_code == 200
