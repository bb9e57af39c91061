"""HTTP API of data cuts: a statistician freezes what was known at a date under a name; its
datasets, Define-XML, analyses and figures are then served byte for byte as frozen
(docs/data-cuts.md)."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import version
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from rescue_followup.adapters.dataset_csv import write_dataset_csv
from rescue_followup.adapters.dataset_json import write_dataset_json
from rescue_followup.adapters.define_xml import write_define_xml
from rescue_followup.adapters.xpt import write_xpt
from rescue_followup.domain.adam import ADSL, ADTTE, DATASETS
from rescue_followup.domain.adtte import write_adtte_csv
from rescue_followup.domain.analysis import Population, analyse_pfs
from rescue_followup.domain.data_cuts import NAME_PATTERN, CutFile, DataCut, manifest
from rescue_followup.domain.protocol import StrataChoice
from rescue_followup.entrypoints.http.analysis import PfsAnalysisReport, StrataQuery
from rescue_followup.entrypoints.http.dependencies import Analyst, PopulationQuery, UoW
from rescue_followup.entrypoints.http.exports import DATASET_JSON_SCHEMA
from rescue_followup.service_layer import data_cuts
from rescue_followup.service_layer.analysis import strata_in_force
from rescue_followup.service_layer.exports import AdamRows
from rescue_shared.auth import Principal, require_roles
from rescue_shared.errors import Invalid
from rescue_shared.validation.reasons import MIN_REASON_WORDS, reason_is_meaningful

router = APIRouter(prefix="/v1/data-cuts", tags=["data cuts"])
Statistician = Annotated[Principal, Depends(require_roles("statistician"))]
CutName = Annotated[str, Path(pattern=NAME_PATTERN, description="The cut's name")]
POPULATIONS: tuple[Population, ...] = ("itt", "excluding_invalidated")
STRATA: tuple[StrataChoice, ...] = ("randomized", "verified")
FIGURES: tuple[tuple[Literal["png", "svg"], str], ...] = (("png", "image/png"),
                                                        ("svg", "image/svg+xml"))
EXPORTS: dict[str, str] = {
    "adsl.xpt": "application/x-sas-xport", "adtte.xpt": "application/x-sas-xport",
    "adsl.json": "application/json", "adtte.json": "application/json",
    "adsl.csv": "text/csv", "adtte.csv": "text/csv", "define.xml": "application/xml",
}
ExportName = Literal["adsl.xpt", "adtte.xpt", "adsl.json", "adtte.json", "adsl.csv",
                     "adtte.csv", "define.xml"]


class DataCutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "DMC-1", "cutoff": "2027-03-31",
        "reason": "first interim look of the data monitoring committee"}]})

    name: str = Field(pattern=NAME_PATTERN, description="Unique: letters, digits, '.', '_', '-'")
    cutoff: dt.date = Field(description="Data cut-off date (not in the future)")
    reason: str = Field(min_length=1, max_length=500,
                        description=f"Why the cut is taken, in at least {MIN_REASON_WORDS} words")

    @field_validator("reason")
    @classmethod
    def _meaningful(cls, value: str) -> str:
        if not reason_is_meaningful(value):
            raise PydanticCustomError(
                "min_words", "give the reason in at least {min_words} words of two or more "
                "letters", {"min_words": MIN_REASON_WORDS})
        return value


class CutFileOut(BaseModel):
    path: str
    sha256: str


class DataCutOut(BaseModel):
    name: str
    cutoff: dt.date
    created_at: dt.datetime
    created_by: str
    reason: str
    digest: str = Field(description="SHA-256 of the manifest (`sha256sum` format, by path)")
    files: list[CutFileOut]

    @classmethod
    def of(cls, cut: DataCut) -> DataCutOut:
        return cls(name=cut.name, cutoff=cut.cutoff, created_at=cut.created_at,
                   created_by=cut.created_by, reason=cut.reason, digest=cut.digest,
                   files=[CutFileOut(path=p, sha256=s) for p, s in sorted(cut.files.items())])


def render_cut(rows: AdamRows, cutoff: dt.date, created_at: dt.datetime) -> list[CutFile]:
    """Every file of a cut: the datasets in each format, Define-XML, and for each population the
    analysis read-out and the Kaplan-Meier figures (or why the analysis is not possible)."""
    from rescue_followup.adapters.figures import draw_km_figure  # matplotlib on first use

    source = version("rescue-followup")
    files = [
        CutFile("exports/adsl.xpt", EXPORTS["adsl.xpt"], write_xpt(ADSL, rows.adsl)),
        CutFile("exports/adtte.xpt", EXPORTS["adtte.xpt"], write_xpt(ADTTE, rows.adtte)),
        CutFile("exports/adsl.json", EXPORTS["adsl.json"], write_dataset_json(
            ADSL, rows.adsl, created_at=created_at, source_version=source)),
        CutFile("exports/adtte.json", EXPORTS["adtte.json"], write_dataset_json(
            ADTTE, rows.adtte, created_at=created_at, source_version=source)),
        CutFile("exports/adsl.csv", EXPORTS["adsl.csv"], write_dataset_csv(ADSL, rows.adsl)),
        CutFile("exports/adtte.csv", EXPORTS["adtte.csv"],
                write_adtte_csv(rows.analysis[rows.strata]).encode()),
        CutFile("exports/define.xml", EXPORTS["define.xml"],
                write_define_xml(DATASETS, created_at=created_at)),
    ]
    for population in POPULATIONS:
        for strata in STRATA:
            try:
                result = analyse_pfs(rows.analysis[strata], population=population)
            except ValueError as exc:
                files.append(CutFile(f"analysis/pfs-{population}-{strata}.unavailable",
                                     "text/plain", str(exc).encode()))
                continue
            report = PfsAnalysisReport(**dict(result), data_cutoff=cutoff, strata=strata)
            files.append(CutFile(f"analysis/pfs-{population}-{strata}.json", "application/json",
                                 report.model_dump_json().encode()))
        if f"analysis/pfs-{population}-{rows.strata}.unavailable" in {f.path for f in files}:
            continue
        for fmt, media in FIGURES:  # the curves do not depend on the strata
            files.append(CutFile(f"analysis/km-{population}.{fmt}", media,
                                 draw_km_figure(rows.analysis[rows.strata], population, fmt)))
    return files


def _served(file: CutFile) -> Response:
    return Response(file.content, media_type=file.media_type,
                    headers={"X-Content-SHA256": file.sha256})


@router.post("", status_code=201, response_model=DataCutOut,
             summary="Freeze everything known at a cut-off date under a name (statistician)")
async def freeze(body: DataCutRequest, principal: Statistician, uow: UoW,
                 response: Response) -> DataCutOut:
    cut = await data_cuts.freeze(uow, name=body.name, cutoff=body.cutoff, reason=body.reason,
                                 caller=principal, render=render_cut)
    response.headers["Location"] = f"/v1/data-cuts/{cut.name}"
    return DataCutOut.of(cut)


@router.get("", response_model=list[DataCutOut], summary="Every data cut, oldest first")
async def list_cuts(principal: Analyst, uow: UoW) -> list[DataCutOut]:
    return [DataCutOut.of(c) for c in await data_cuts.cuts(uow)]


@router.get("/{name}", response_model=DataCutOut, summary="A data cut and its files' digests")
async def get_cut(name: CutName, principal: Analyst, uow: UoW) -> DataCutOut:
    return DataCutOut.of(await data_cuts.cut(uow, name))


@router.get("/{name}/manifest.sha256", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}},
            summary="The cut's files and SHA-256 digests, as `sha256sum -c` reads them")
async def get_manifest(name: CutName, principal: Analyst, uow: UoW) -> Response:
    cut = await data_cuts.cut(uow, name)
    return Response(manifest(cut.files), media_type="text/plain")


@router.get("/{name}/exports/{file}", response_class=Response,
            responses={200: {"content": {
                m: {"schema": DATASET_JSON_SCHEMA} if m == "application/json" else {}
                for m in sorted(set(EXPORTS.values()))}}},
            summary="A dataset of the cut (XPT, Dataset-JSON, CSV) or its Define-XML, as frozen")
async def get_export(name: CutName, file: ExportName, principal: Analyst, uow: UoW) -> Response:
    found = await data_cuts.download(uow, principal, name, f"exports/{file}")
    return Response(found.content, media_type=found.media_type, headers={
        "X-Content-SHA256": found.sha256,
        "Content-Disposition": f'attachment; filename="{name}-{file}"'})


async def _analysis_file(uow: UoW, name: str, path: str, unavailable: str) -> CutFile:
    cut = await data_cuts.cut(uow, name)
    if path not in cut.files:
        why = await data_cuts.cut_file(uow, name, unavailable)
        raise Invalid(why.content.decode(), title="Analysis not possible")
    return await data_cuts.cut_file(uow, name, path)


@router.get("/{name}/analysis/pfs", response_class=Response,
            responses={200: {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PfsAnalysisReport"}}}}},
            summary="The primary PFS analysis of the cut, as frozen")
async def get_analysis(name: CutName, principal: Analyst, uow: UoW,
                       population: PopulationQuery = "itt", strata: StrataQuery = None,
                       ) -> Response:
    chosen = strata_in_force(uow, strata)
    stem = f"analysis/pfs-{population}-{chosen}"
    return _served(await _analysis_file(uow, name, f"{stem}.json", f"{stem}.unavailable"))


@router.get("/{name}/analysis/pfs/km.{fmt}", response_class=Response,
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
            summary="The cut's Kaplan-Meier figure (PNG or SVG), as frozen")
async def get_figure(name: CutName, fmt: Literal["png", "svg"], principal: Analyst, uow: UoW,
                     population: PopulationQuery = "itt") -> Response:
    stem = f"analysis/pfs-{population}-{strata_in_force(uow, None)}"
    return _served(await _analysis_file(uow, name, f"analysis/km-{population}.{fmt}",
                                        f"{stem}.unavailable"))
