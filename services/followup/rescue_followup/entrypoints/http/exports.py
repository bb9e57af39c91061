"""HTTP API of the submission exports: ADSL and ADTTE as SAS XPT v5, CDISC Dataset-JSON 1.1 and
CSV, and the Define-XML 2.1 that describes them (docs/exports.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
from importlib.metadata import version
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from rescue_followup.adapters.dataset_csv import write_dataset_csv
from rescue_followup.adapters.dataset_json import write_dataset_json
from rescue_followup.adapters.define_xml import write_define_xml
from rescue_followup.adapters.xpt import write_xpt
from rescue_followup.domain.adam import ADSL, ADTTE, DATASETS
from rescue_followup.entrypoints.http.analysis import Cutoff
from rescue_followup.entrypoints.http.dependencies import Analyst, UoW
from rescue_followup.service_layer import exports
from rescue_shared.auth import Principal

router = APIRouter(prefix="/v1/exports", tags=["exports"])
DatasetName = Literal["adsl", "adtte"]
Format = Literal["xpt", "json", "csv"]
MEDIA: dict[str, str] = {"xpt": "application/x-sas-xport", "json": "application/json",
                         "csv": "text/csv"}


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/define.xml", response_class=Response,
            responses={200: {"content": {"application/xml": {}}}},
            summary="Define-XML 2.1 describing ADSL and ADTTE")
async def define_xml(principal: Analyst) -> Response:
    content = write_define_xml(DATASETS, created_at=dt.datetime.now(dt.UTC))
    return _attachment(content, "application/xml", "define.xml")


async def _export(
    uow: UoW, caller: Principal, dataset: DatasetName, fmt: Format, cutoff: dt.date | None
) -> Response:
    rows = await exports.download(uow, caller, f"{dataset}.{fmt}", cutoff)
    spec, data = (ADSL, rows.adsl) if dataset == "adsl" else (ADTTE, rows.adtte)
    if fmt == "xpt":
        content = await asyncio.to_thread(write_xpt, spec, data)
    elif fmt == "json":
        content = write_dataset_json(spec, data, created_at=dt.datetime.now(dt.UTC),
                                     source_version=version("rescue-followup"))
    else:
        content = write_dataset_csv(spec, data)
    suffix = f"-{cutoff.isoformat()}" if cutoff else ""
    return _attachment(content, MEDIA[fmt], f"{dataset}{suffix}.{fmt}")


DATASET_JSON_SCHEMA: dict[str, object] = {
    "type": "object", "description": "CDISC Dataset-JSON 1.1 (docs/exports.md)",
    "required": ["datasetJSONVersion", "name", "columns", "rows", "records"],
    "properties": {"datasetJSONVersion": {"type": "string"}, "name": {"type": "string"},
                   "records": {"type": "integer"},
                   "columns": {"type": "array", "items": {"type": "object"}},
                   "rows": {"type": "array", "items": {"type": "array"}}}}


def _doc(fmt: Format) -> dict[int | str, dict[str, object]]:
    content = {"schema": DATASET_JSON_SCHEMA} if fmt == "json" else {}
    return {200: {"content": {MEDIA[fmt]: content}}}


@router.get("/adsl.xpt", response_class=Response, responses=_doc("xpt"),
            summary="ADSL (one row per randomized subject) as SAS transport v5")
async def adsl_xpt(principal: Analyst, uow: UoW, cutoff: Cutoff = None) -> Response:
    return await _export(uow, principal, "adsl", "xpt", cutoff)


@router.get("/adtte.xpt", response_class=Response, responses=_doc("xpt"),
            summary="ADTTE (PFS, one row per randomized subject) as SAS transport v5")
async def adtte_xpt(principal: Analyst, uow: UoW, cutoff: Cutoff = None) -> Response:
    return await _export(uow, principal, "adtte", "xpt", cutoff)


@router.get("/adsl.json", response_class=Response, responses=_doc("json"),
            summary="ADSL as CDISC Dataset-JSON 1.1")
async def adsl_json(principal: Analyst, uow: UoW, cutoff: Cutoff = None) -> Response:
    return await _export(uow, principal, "adsl", "json", cutoff)


@router.get("/adtte.json", response_class=Response, responses=_doc("json"),
            summary="ADTTE as CDISC Dataset-JSON 1.1")
async def adtte_json(principal: Analyst, uow: UoW, cutoff: Cutoff = None) -> Response:
    return await _export(uow, principal, "adtte", "json", cutoff)


@router.get("/adsl.csv", response_class=Response, responses=_doc("csv"),
            summary="ADSL as CSV (the XPT's variables, dates as ISO 8601)")
async def adsl_csv(principal: Analyst, uow: UoW, cutoff: Cutoff = None) -> Response:
    return await _export(uow, principal, "adsl", "csv", cutoff)
