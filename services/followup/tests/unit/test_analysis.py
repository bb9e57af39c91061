"""The analysis against the Freireich 6-MP vs placebo data (Gehan 1965), time unit = weeks.

Textbook figures: log-rank chi2 16.79 (p 4.2e-5); median 6-MP 23, placebo 8 weeks; Cox HR placebo
vs 6-MP 4.82 (Efron) / 4.52 (Breslow); KM 6-MP 0.753 at 10, 0.690 at 13, 0.448 at 23 weeks.
Each figure is also recomputed independently: lifelines called directly on the raw data, and
plain-Python sums of the log-rank / partial-likelihood formulas.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy import optimize, stats

from rescue_followup.domain.adtte import AdtteRow
from rescue_followup.domain.analysis import (
    AnalysisOptions,
    analyse_pfs,
    analysis_frame,
    stratified_logrank,
)

# Weeks as "days" and one "month" = one week, so landmarks and at-risk points are in weeks.
WEEKS = AnalysisOptions(
    experimental_arm="PLACEBO",
    control_arm="6-MP",
    days_per_month=1.0,
    landmark_months=(10.0, 13.0, 23.0, 36.0),
    at_risk_step_months=5.0,
)


def raw(rows: list[AdtteRow], arm: str) -> tuple[np.ndarray, np.ndarray]:
    chosen = [r for r in rows if r.arm == arm]
    return np.array([r.aval for r in chosen], float), np.array([1 - r.cnsr for r in chosen])


def manual_logrank(time, event, exp, strata) -> tuple[float, float, float]:
    """(sum O-E, sum V, chi2) for the experimental group, stratum by stratum, by plain loops."""
    o_e = var = 0.0
    for s in set(strata):
        idx = [i for i, x in enumerate(strata) if x == s]
        for t in sorted({time[i] for i in idx if event[i]}):
            risk = [i for i in idx if time[i] >= t]
            n, n1 = len(risk), sum(1 for i in risk if exp[i])
            d = sum(1 for i in risk if time[i] == t and event[i])
            d1 = sum(1 for i in risk if time[i] == t and event[i] and exp[i])
            o_e += d1 - n1 * d / n
            if n > 1:
                var += n1 * (n - n1) * d * (n - d) / (n * n * (n - 1))
    return o_e, var, o_e**2 / var


def partial_likelihood_hr(time, event, x, ties: str) -> float:
    """Maximise the Cox partial likelihood (Efron or Breslow ties) for one covariate."""
    time, event, x = map(np.asarray, (time, event, x))

    def negative_loglik(beta: float) -> float:
        total = 0.0
        for t in np.unique(time[event == 1]):
            dead = (time == t) & (event == 1)
            risk_sum = np.exp(beta * x[time >= t]).sum()
            dead_sum = np.exp(beta * x[dead]).sum()
            d = int(dead.sum())
            total += beta * x[dead].sum()
            for ell in range(d):
                frac = ell / d if ties == "efron" else 0.0
                total -= math.log(risk_sum - frac * dead_sum)
        return -total

    fit = optimize.minimize_scalar(
        negative_loglik, bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}
    )
    return math.exp(fit.x)


def test_freireich_textbook_figures(freireich: list[AdtteRow]) -> None:
    result = analyse_pfs(freireich, options=WEEKS)
    placebo, six_mp = result.arms
    assert (placebo.arm, placebo.n, placebo.events) == ("PLACEBO", 21, 21)
    assert (six_mp.arm, six_mp.n, six_mp.events, six_mp.censored) == ("6-MP", 21, 9, 12)

    assert result.logrank.test_statistic == pytest.approx(16.7929, abs=1e-3)
    assert result.logrank.p_value == pytest.approx(4.17e-5, rel=1e-2)

    assert six_mp.median.days == 23.0
    assert (six_mp.median.ci_lower_days, six_mp.median.ci_upper_days) == (13.0, None)
    assert placebo.median.days == 8.0
    assert (placebo.median.ci_lower_days, placebo.median.ci_upper_days) == (4.0, 11.0)

    km = {lm.months: lm.survival for lm in six_mp.landmarks}
    assert km[10.0] == pytest.approx(0.753, abs=5e-4)
    assert km[13.0] == pytest.approx(0.690, abs=5e-4)
    assert km[23.0] == pytest.approx(0.448, abs=5e-4)
    assert km[36.0] is None  # beyond the last follow-up (35 weeks)

    cox = result.cox
    assert cox is not None and cox.comparison == "PLACEBO vs 6-MP" and cox.ties == "efron"
    assert cox.hazard_ratio == pytest.approx(4.817, abs=1e-3)
    assert (cox.ci_lower, cox.ci_upper) == pytest.approx((2.147, 10.809), abs=1e-3)
    assert cox.p_value == pytest.approx(1.378e-4, rel=1e-2)


def test_freireich_against_lifelines_called_directly(freireich: list[AdtteRow]) -> None:
    result = analyse_pfs(freireich, options=WEEKS)
    t_p, e_p = raw(freireich, "PLACEBO")
    t_m, e_m = raw(freireich, "6-MP")

    direct = logrank_test(t_p, t_m, e_p, e_m)
    assert result.logrank.test_statistic == pytest.approx(direct.test_statistic, rel=1e-12)
    assert result.logrank.p_value == pytest.approx(direct.p_value, rel=1e-12)

    kmf = KaplanMeierFitter().fit(t_m, e_m)
    assert result.arms[1].median.days == kmf.median_survival_time_
    assert result.arms[1].landmarks[0].survival == pytest.approx(
        float(kmf.survival_function_at_times(10.0).iloc[0]), rel=1e-12
    )
    ci_at_10 = kmf.confidence_interval_.loc[10.0]
    assert result.arms[1].landmarks[0].ci_lower == pytest.approx(float(ci_at_10.iloc[0]))
    assert result.arms[1].landmarks[0].ci_upper == pytest.approx(float(ci_at_10.iloc[1]))

    df = pd.DataFrame({"T": np.r_[t_p, t_m], "E": np.r_[e_p, e_m], "placebo": [1] * 21 + [0] * 21})
    # lifelines' defaults stop early (HR 4.8168726, R 4.8168739): converge it fully to compare.
    tight = {"step_size": 1.0, "precision": 1e-14, "r_precision": 1e-15}
    cph = CoxPHFitter().fit(df, "T", "E", fit_options=tight)
    assert result.cox.hazard_ratio == pytest.approx(float(cph.hazard_ratios_["placebo"]), rel=1e-9)
    assert result.cox.se == pytest.approx(float(cph.standard_errors_["placebo"]), rel=1e-9)
    assert result.cox.p_value == pytest.approx(float(cph.summary.loc["placebo", "p"]), rel=1e-9)
    default = CoxPHFitter().fit(df, "T", "E")
    assert result.cox.hazard_ratio == pytest.approx(float(default.hazard_ratios_["placebo"]),
                                                    rel=1e-6)
    assert result.cox.hazard_ratio == pytest.approx(4.81687389827939, rel=1e-12)  # R coxph


def test_freireich_against_hand_computed_formulas(freireich: list[AdtteRow]) -> None:
    result = analyse_pfs(freireich, options=WEEKS)
    time = [r.aval for r in freireich]
    event = [1 - r.cnsr for r in freireich]
    exp = [r.arm == "PLACEBO" for r in freireich]

    _, _, chi2 = manual_logrank(time, event, exp, ["all"] * len(time))
    assert chi2 == pytest.approx(result.logrank.test_statistic, rel=1e-9)
    assert stats.chi2.sf(chi2, 1) == pytest.approx(4.17e-5, rel=1e-2)

    x = [1.0 if e else 0.0 for e in exp]
    efron = partial_likelihood_hr(time, event, x, "efron")
    breslow = partial_likelihood_hr(time, event, x, "breslow")
    assert efron == pytest.approx(result.cox.hazard_ratio, rel=1e-5)
    assert efron == pytest.approx(4.82, abs=5e-3)
    assert breslow == pytest.approx(4.52, abs=5e-3)  # lifelines is Efron-only: not what we report


def test_stratified_logrank_matches_independent_per_stratum_sums(make_freireich) -> None:
    rows = make_freireich(("a", "b", "c"))
    result = analyse_pfs(rows, options=WEEKS).stratified_logrank
    time = [r.aval for r in rows]
    event = [1 - r.cnsr for r in rows]
    exp = [r.arm == "PLACEBO" for r in rows]
    o_e, var, chi2 = manual_logrank(time, event, exp, [r.strata for r in rows])
    assert result.n_strata == 3 and result.n_informative_strata == 3
    assert result.observed_minus_expected == pytest.approx(o_e, rel=1e-12)
    assert result.variance == pytest.approx(var, rel=1e-12)
    assert result.test_statistic == pytest.approx(chi2, rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12)
    assert result.test_statistic != pytest.approx(16.7929, abs=1e-2)  # strata do change it


def test_stratified_logrank_with_one_stratum_equals_logrank(freireich: list[AdtteRow]) -> None:
    result = analyse_pfs(freireich, options=WEEKS)
    assert result.stratified_logrank.test_statistic == pytest.approx(
        result.logrank.test_statistic, rel=1e-12
    )
    assert result.cox_stratified.hazard_ratio == pytest.approx(result.cox.hazard_ratio, rel=1e-6)


def test_one_arm_strata_carry_no_information() -> None:
    result = stratified_logrank(
        time=[1, 2, 3, 4, 5, 6],
        event=[1, 1, 1, 1, 1, 1],
        experimental=[True, False, True, False, True, True],
        strata=["a", "a", "a", "a", "b", "b"],
    )
    _, _, chi2 = manual_logrank([1, 2, 3, 4], [1, 1, 1, 1], [True, False, True, False], ["a"] * 4)
    assert (result.n_strata, result.n_informative_strata) == (2, 1)
    assert result.test_statistic == pytest.approx(chi2)
    empty = stratified_logrank([1, 2], [1, 1], [True, True], ["a", "b"])
    assert empty.test_statistic is None and empty.p_value is None


def test_numbers_at_risk_count_aval_at_or_after_t(freireich: list[AdtteRow]) -> None:
    at_risk = analyse_pfs(freireich, options=WEEKS).at_risk
    assert [p.months for p in at_risk] == [0, 5, 10, 15, 20, 25, 30, 35]
    assert [p.at_risk["PLACEBO"] for p in at_risk] == [21, 14, 8, 4, 2, 0, 0, 0]
    assert [p.at_risk["6-MP"] for p in at_risk] == [21, 21, 15, 11, 8, 5, 4, 1]


def test_default_month_conversion_and_json(freireich: list[AdtteRow]) -> None:
    options = WEEKS.model_copy(update={"days_per_month": 30.4375, "landmark_months": (6.0,)})
    result = analyse_pfs(freireich, options=options)
    assert result.arms[1].median.months == pytest.approx(23 / 30.4375)
    assert result.arms[1].landmarks[0].days == pytest.approx(182.625)
    assert result.arms[1].landmarks[0].survival is None
    payload = json.loads(result.model_dump_json())
    assert payload["arms"][1]["median"]["ci_upper_days"] is None
    assert payload["cox"]["hazard_ratio"] == pytest.approx(4.817, abs=1e-3)


def test_population_filter_and_dataframe_input(freireich: list[AdtteRow]) -> None:
    flagged = [r.model_copy(update={"invalidated": r.usubjid == "PLACEBO-00"}) for r in freireich]
    assert analyse_pfs(flagged, options=WEEKS).n == 42
    excluded = analyse_pfs(flagged, population="excluding_invalidated", options=WEEKS)
    assert excluded.n == 41 and excluded.arms[0].n == 20

    frame = pd.DataFrame([r.model_dump() for r in flagged])
    from_frame = analyse_pfs(frame, population="excluding_invalidated", options=WEEKS)
    assert from_frame == excluded
    adam = frame.rename(columns=str.upper).drop(columns=["INVALIDATED"])
    adam["INVALFL"] = np.where(frame["invalidated"], "Y", "N")
    assert analyse_pfs(adam, population="excluding_invalidated", options=WEEKS) == excluded


def test_invalid_input_is_rejected(freireich: list[AdtteRow]) -> None:
    with pytest.raises(ValueError, match="arm 6-MP has no subject"):
        analyse_pfs([r for r in freireich if r.arm == "PLACEBO"], options=WEEKS)
    with pytest.raises(ValueError, match="unknown arm"):
        analyse_pfs(freireich)  # default arms are SCS_CHEMO / CHEMO
    frame = pd.DataFrame({"ARM": ["PLACEBO", "6-MP"], "AVAL": [0, 3], "CNSR": [2, 0]})
    with pytest.raises(ValueError, match=r"AVAL.*CNSR"):
        analysis_frame(frame, options=WEEKS)
    with pytest.raises(ValueError, match="lack column"):
        analysis_frame(pd.DataFrame({"ARM": ["x"]}), options=WEEKS)
