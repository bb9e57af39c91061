"""GCIG CA-125 response (Rustin 2011; docs/protocol/gcig-ca125.md § Response).

Evaluable: the latest value on or before treatment start, no more than ``baseline_window_days``
before it (the start day counts as pre-treatment, drawn before dosing), is >= 2 x ULN.
Response: a value <= (1 - fall)·baseline (the "50% line"; exactly 50% counts), then a later value
still on or below the line at >= ``confirmation_days`` after it (exactly 28 days counts), with no
value in between above the line. A value above the line breaks the run; a new run may start later.
Complete response: the confirming value is also <= ULN.

Not applied here: GCIG's "intervening samples within 10% of the previous one" refinement and the
28-day exclusion after peritoneal/pleural interference or mouse antibodies (callers must drop such
values). Censored values are used at their reported limit ("<5" counts as 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from rescue_prediction.domain.units import NormalisedCa125

GcigStatus = Literal[
    "not_evaluable", "complete_response", "response", "pending_confirmation", "no_response"
]


class GcigResult(BaseModel):
    """GCIG CA-125 response assessment with the dates and thresholds it used."""

    model_config = ConfigDict(frozen=True)

    status: GcigStatus
    evaluable: bool
    responded: bool
    uln_u_ml: float
    baseline_u_ml: float | None = None
    baseline_date: date | None = None
    response_line_u_ml: float | None = None
    response_date: date | None = None
    confirmation_date: date | None = None
    reasons: tuple[str, ...] = ()


def assess_gcig_response(
    values: Sequence[NormalisedCa125],
    treatment_start: date,
    *,
    uln_u_ml: float = 35.0,
    baseline_window_days: int = 14,
    confirmation_days: int = 28,
    fall_fraction: float = 0.5,
) -> GcigResult:
    """Assess response from all CA-125 values around one treatment (any order)."""
    ordered = sorted(values, key=lambda v: v.effective_date)
    earliest = treatment_start - timedelta(days=baseline_window_days)
    pre = [v for v in ordered if earliest <= v.effective_date <= treatment_start]
    if not pre:
        return GcigResult(
            status="not_evaluable",
            evaluable=False,
            responded=False,
            uln_u_ml=uln_u_ml,
            reasons=(
                f"no pre-treatment CA-125 within {baseline_window_days} days before "
                f"treatment start {treatment_start}",
            ),
        )
    base = pre[-1]
    common = {
        "uln_u_ml": uln_u_ml,
        "baseline_u_ml": base.value_u_ml,
        "baseline_date": base.effective_date,
    }
    if base.value_u_ml < 2 * uln_u_ml:
        return GcigResult(
            status="not_evaluable",
            evaluable=False,
            responded=False,
            **common,
            reasons=(
                f"pre-treatment CA-125 {base.value_u_ml:g} U/mL < 2 x ULN ({2 * uln_u_ml:g} U/mL)",
            ),
        )
    line = base.value_u_ml * (1.0 - fall_fraction)
    common["response_line_u_ml"] = line
    run_start: NormalisedCa125 | None = None
    for v in (v for v in ordered if v.effective_date > treatment_start):
        if v.value_u_ml > line:
            run_start = None
        elif run_start is None:
            run_start = v
        elif (v.effective_date - run_start.effective_date).days >= confirmation_days:
            complete = v.value_u_ml <= uln_u_ml
            return GcigResult(
                status="complete_response" if complete else "response",
                evaluable=True,
                responded=True,
                response_date=run_start.effective_date,
                confirmation_date=v.effective_date,
                **common,
                reasons=(
                    f">= {fall_fraction:.0%} fall from {base.value_u_ml:g} U/mL on "
                    f"{run_start.effective_date}, confirmed on {v.effective_date} "
                    f"({v.value_u_ml:g} U/mL)" + (", normalised (<= ULN)" if complete else ""),
                ),
            )
    if run_start is not None:
        return GcigResult(
            status="pending_confirmation",
            evaluable=True,
            responded=False,
            response_date=run_start.effective_date,
            **common,
            reasons=(
                f">= {fall_fraction:.0%} fall on {run_start.effective_date}; needs a value "
                f"<= {line:g} U/mL on or after "
                f"{run_start.effective_date + timedelta(days=confirmation_days)}",
            ),
        )
    return GcigResult(
        status="no_response",
        evaluable=True,
        responded=False,
        **common,
        reasons=(f"no confirmed fall to <= {line:g} U/mL ({fall_fraction:.0%} line)",),
    )
