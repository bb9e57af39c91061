"""The CA-125 curve of a subject as PNG or SVG."""

from __future__ import annotations

import threading
from typing import Literal

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from rescue_prediction.entrypoints.http.dependencies import UoW
from rescue_prediction.service_layer.curves import Ca125Curve, ca125_curve
from rescue_shared.auth import AnyTrialRole

router = APIRouter(prefix="/v1", tags=["subjects"])
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
PlotFormat = Literal["png", "svg"]
# One figure at a time: the SVG settings go through matplotlib's process-wide rcParams.
_FIGURE_LOCK = threading.Lock()


def _render_alone(curve: Ca125Curve, fmt: PlotFormat) -> bytes:
    # matplotlib loads with the first figure, not with the service (memory at rest).
    from rescue_prediction.adapters.figures import render_ca125_plot

    with _FIGURE_LOCK:
        return render_ca125_plot(curve.subject_id, curve.values, curve.chemotherapy_start_date,
                                 curve.fit, curve.uln_u_ml, fmt)


async def _plot(subject_id: str, principal: AnyTrialRole, uow: UoW, fmt: PlotFormat) -> Response:
    curve = await ca125_curve(uow, principal, subject_id)
    content = await run_in_threadpool(_render_alone, curve, fmt)
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
