"""The CA-125 curve of a subject as PNG or SVG."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from rescue_prediction.api import visible_subject
from rescue_prediction.domain.kinetics import fit_k, points_from_observations
from rescue_prediction.plots import PlotFormat, render_ca125_plot
from rescue_prediction.predictions import measurements_of, normalised, protocol
from rescue_shared.auth import AnyTrialRole
from rescue_shared.http.problems import Problem
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["subjects"])
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
# One figure at a time: the SVG settings go through matplotlib's process-wide rcParams.
_FIGURE_LOCK = threading.Lock()


def _render_alone(*args: object) -> bytes:
    with _FIGURE_LOCK:
        return render_ca125_plot(*args)  # type: ignore[arg-type]


async def _plot(subject_id: str, principal: AnyTrialRole, uow: UoW, fmt: PlotFormat) -> Response:
    subject = await visible_subject(uow, principal, subject_id)
    values = [normalised(r) for r in await measurements_of(uow, subject_id)]
    if not values:
        raise Problem(404, "Not found", f"no CA-125 values for subject {subject_id}")
    proto = protocol()
    start = subject.chemotherapy_start_date
    fit = fit_k(points_from_observations(values, start), proto.kinetics_settings()) if start \
        else None
    uln = proto.gcig.uln_u_ml_default.value
    content = await run_in_threadpool(_render_alone, subject_id, values, start, fit, uln, fmt)
    return Response(content, media_type=MEDIA[fmt])


@router.get("/subjects/{subject_id}/ca125/plot.png", response_class=Response,
            summary="CA-125 curve (log axis) with the fitted decline, the window and the ULN",
            responses={200: {"content": {"image/png": {}}}})
async def plot_png(subject_id: str, principal: AnyTrialRole, uow: UoW) -> Response:
    return await _plot(subject_id, principal, uow, "png")


@router.get("/subjects/{subject_id}/ca125/plot.svg", response_class=Response,
            summary="CA-125 curve as SVG (elements carry ids: ca125-used, fitted-decline, ...)",
            responses={200: {"content": {"image/svg+xml": {}}}})
async def plot_svg(subject_id: str, principal: AnyTrialRole, uow: UoW) -> Response:
    return await _plot(subject_id, principal, uow, "svg")
