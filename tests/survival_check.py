"""The primary-analysis read-out checked against lifelines run independently on the planned data
(with R's median rule and a converged Cox fit, the conventions of docs/statistics.md).

Importable from every test (pytest puts tests/ on the path).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from pandas import DataFrame

DAYS_PER_MONTH = 30.4375
# lifelines' default tolerance stops short of R's coxph (1e-7 to 1e-4 relative): converge.
TIGHT = {"step_size": 1.0, "precision": 1e-14, "r_precision": 1e-15}


def r_median(kmf: KaplanMeierFitter) -> float | None:
    """R's median (print.survfit): the first time S(t) < 0.5, or, where S(t) = 0.5 up to a
    later drop, the midpoint of that flat stretch (lifelines takes its start)."""
    curve = kmf.survival_function_.iloc[:, 0]
    below = curve[curve < 0.5 + 1e-8]
    if below.empty:
        return None
    if abs(below.iloc[0] - 0.5) < 1e-8 and (below < below.iloc[0]).any():
        return float((below.index[0] + below[below < below.iloc[0]].index[0]) / 2)
    return float(below.index[0])


def assert_matches_lifelines(
    analysis: dict[str, Any], days: Sequence[int], events: Sequence[int], arms: Sequence[str],
    landmark_months: float = 6.0,
) -> None:
    """Per arm n, events, median and KM at a landmark; log-rank; Cox HR and p; numbers at risk."""
    frame = DataFrame({"time": list(days), "event": list(events),
                       "scs": [int(arm == "SCS_CHEMO") for arm in arms]})
    scs, chemo = frame[frame["scs"] == 1], frame[frame["scs"] == 0]
    landmark_days = landmark_months * DAYS_PER_MONTH
    for summary, part in zip(analysis["arms"], (scs, chemo), strict=True):
        kmf = KaplanMeierFitter().fit(part["time"], part["event"])
        assert (summary["n"], summary["events"]) == (len(part), int(part["event"].sum()))
        assert summary["median"]["days"] == pytest.approx(r_median(kmf))
        landmark = next(lm for lm in summary["landmarks"] if lm["months"] == landmark_months)
        assert landmark["survival"] == pytest.approx(
            float(kmf.survival_function_at_times(landmark_days).iloc[0]))
    expected = logrank_test(scs["time"], chemo["time"], scs["event"], chemo["event"])
    assert analysis["logrank"]["test_statistic"] == pytest.approx(expected.test_statistic)
    assert analysis["logrank"]["p_value"] == pytest.approx(expected.p_value)
    cox = CoxPHFitter().fit(frame, duration_col="time", event_col="event", fit_options=TIGHT)
    assert analysis["cox"]["hazard_ratio"] == pytest.approx(float(cox.hazard_ratios_["scs"]))
    assert analysis["cox"]["p_value"] == pytest.approx(float(cox.summary.loc["scs", "p"]))
    at_landmark = next(p for p in analysis["at_risk"] if p["months"] == landmark_months)
    assert at_landmark["at_risk"] == {"SCS_CHEMO": int((scs["time"] >= landmark_days).sum()),
                                      "CHEMO": int((chemo["time"] >= landmark_days).sum())}
