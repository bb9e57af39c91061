"""R's conventions at the edges: median on a flat 0.5, undefined bands, landmarks, no Cox model.

Each expected value is R's (survival 3.5), from the R calls quoted beside it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rescue_followup.domain.analysis import (
    AnalysisOptions,
    CoxNotEstimable,
    analyse_pfs,
    efron_cox,
    kaplan_meier,
    r_median,
    risk_table,
)

DAYS = AnalysisOptions(days_per_month=1.0, landmark_months=(0.5, 1.0, 3.0, 8.5, 9.0, 10.0),
                       at_risk_step_months=1.0)


def frame(scs: list[tuple[int, int]], chemo: list[tuple[int, int]]) -> pd.DataFrame:
    """(AVAL, event) per subject of each arm."""
    rows = [("SCS_CHEMO", t, 1 - e) for t, e in scs] + [("CHEMO", t, 1 - e) for t, e in chemo]
    return pd.DataFrame(rows, columns=["ARM", "AVAL", "CNSR"])


def test_r_median_rule() -> None:
    t = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert r_median(t, np.array([0.9, 0.5, 0.5, 0.3, 0.2])) == 3.0  # midpoint of 2 and 4
    assert r_median(t, np.array([0.9, 0.6, 0.4, 0.3, 0.2])) == 3.0
    assert r_median(t, np.array([0.9, 0.8, 0.7, 0.6, 0.55])) is None  # not reached
    assert r_median(t, np.array([0.9, 0.8, 0.5, 0.5, 0.5])) == 3.0  # ends at 0.5: print.survfit
    assert r_median(t, np.array([np.nan, 0.7, np.nan, 0.45, 0.4])) == 4.0  # NA skipped
    # within the tolerance of 0.5; R takes the next value below it, however slightly below
    assert r_median(t, np.array([0.9, 0.5 + 1e-12, 0.5, 0.4, 0.3])) == 2.5


def test_km_band_is_undefined_where_s_is_0_or_1_as_in_r() -> None:
    # survfit(Surv(c(2,4,4,5,7,9), c(1,1,0,1,0,1)) ~ 1, conf.type = "log-log")
    curve = kaplan_meier(np.array([2, 4, 4, 5, 7, 9.0]), np.array([1, 1, 0, 1, 0, 1]))
    assert curve.time.tolist() == [2, 4, 5, 7, 9]
    assert curve.survival[-1] == 0 and math.isnan(curve.lower[-1]) and math.isnan(curve.upper[-1])
    assert curve.lower[:3] == pytest.approx([0.27312285, 0.19461664, 0.06618675], rel=1e-7)
    assert curve.upper[2] == pytest.approx(0.785, abs=5e-4)
    # censored before any event: S = 1 and the band is NA in R
    early = kaplan_meier(np.array([1, 3, 4, 6.0]), np.array([0, 1, 1, 0]))
    assert early.survival[0] == 1 and math.isnan(early.lower[0]) and math.isnan(early.upper[0])


def test_landmarks_follow_summary_survfit_times() -> None:
    # summary(survfit(Surv(c(2,4,4,5,7,9), c(1,1,0,1,0,1)) ~ 1, conf.type = "log-log"),
    #         times = c(0.5, 1, 3, 8.5, 9))
    data = frame([(2, 1), (4, 1), (4, 0), (5, 1), (7, 0), (9, 1)], [(3, 1), (6, 0), (8, 1)])
    scs = analyse_pfs(data, options=DAYS).arms[0]
    by_time = {lm.days: (lm.survival, lm.ci_lower, lm.ci_upper) for lm in scs.landmarks}
    assert by_time[0.5] == (1.0, 1.0, 1.0)  # before the first curve time: (1, 1) in R
    assert by_time[1.0] == (1.0, 1.0, 1.0)
    assert by_time[3.0] == pytest.approx((5 / 6, 0.2731228, 0.9747, ), rel=1e-4)
    assert by_time[8.5][0] == pytest.approx(4 / 9) and by_time[8.5][1] == pytest.approx(
        0.06618675, rel=1e-6)
    assert by_time[9.0] == (0.0, None, None)  # S = 0: no band (NA in R)
    assert by_time[10.0] == (None, None, None)  # beyond the last follow-up
    assert (scs.median.days, scs.median.ci_lower_days, scs.median.ci_upper_days) == (5.0, 2.0,
                                                                                     None)


def test_flat_half_gives_the_midpoint() -> None:
    # survfit(Surv(c(361, 451, 201, 271, 181), c(1, 0, 1, 1, 0)) ~ 1): median 316, LCL 201
    data = frame([(361, 1), (451, 0), (201, 1), (271, 1), (181, 0)], [(100, 1), (200, 1)])
    scs = analyse_pfs(data).arms[0]
    assert (scs.median.days, scs.median.ci_lower_days, scs.median.ci_upper_days) == (316.0,
                                                                                     201.0, None)


def test_monotone_likelihood_gives_no_cox_model_and_a_warning() -> None:
    # every event in SCS_CHEMO, none in CHEMO: R's coxph warns that beta may be infinite
    data = frame([(2, 1), (3, 1), (5, 1), (8, 1)], [(4, 0), (6, 0), (9, 0), (10, 0)])
    result = analyse_pfs(data)
    assert result.cox is None and result.cox_stratified is None
    assert any("no finite maximum" in w for w in result.warnings)
    assert result.logrank.test_statistic > 0


def test_no_event_at_all() -> None:
    with pytest.raises(CoxNotEstimable, match="no event"):
        efron_cox(risk_table(np.array([1.0, 2.0]), np.array([0, 0]), np.array([True, False]),
                             np.array([0, 0])))


def test_risk_table_counts_within_strata() -> None:
    table = risk_table(np.array([1, 2, 2, 3, 1, 4.0]), np.array([1, 1, 0, 1, 1, 0]),
                       np.array([True, False, True, False, True, True]),
                       np.array([0, 0, 0, 0, 1, 1]))
    # stratum 0: times 1 (4 at risk, 2 exp), 2 (3 at risk, 1 exp, 1 event), 3 (1, 0); stratum 1
    assert table.stratum.tolist() == [0, 0, 0, 1]
    assert table.at_risk.tolist() == [4, 3, 1, 2]
    assert table.at_risk_exp.tolist() == [2, 1, 0, 2]
    assert table.events.tolist() == [1, 1, 1, 1]
    assert table.events_exp.tolist() == [1, 0, 0, 1]
    assert (table.n_strata, table.n_informative_strata) == (2, 1)
