"""Primary PFS analysis from ADTTE records: Kaplan-Meier, log-rank (plain and stratified), Cox.

All estimators are lifelines'; this module only selects, arranges and reports. Conventions:
- Time is AVAL in days. Months = days / 30.4375 (365.25 / 12, the mean Gregorian month), used for
  landmarks (6/12/24 months), the numbers-at-risk grid and the month read-outs.
- KM confidence intervals: lifelines' default exponential Greenwood ("log-log") intervals. Median
  PFS and its CI come from `median_survival_times` on the KM estimate and its CI band; a bound that
  is never reached is reported as None ("not reached"), as are landmarks beyond the last
  follow-up time of an arm.
- Numbers at risk at time t: subjects with AVAL >= t.
- Log-rank: `lifelines.statistics.logrank_test` (hypergeometric variance).
- Stratified log-rank: lifelines has none, and a stratified Cox model gives Wald / likelihood-ratio
  tests, not the log-rank score test. We therefore sum, over strata, the experimental arm's observed
  minus expected events and its hypergeometric variance, each computed from lifelines' per-stratum
  survival table (`group_survival_table_from_events`, the table lifelines' own log-rank uses);
  chi-square = (sum O-E)^2 / sum V on 1 df. With a single stratum it equals `logrank_test`.
- Cox: `CoxPHFitter` (lifelines handles ties by Efron's method, not configurable), one covariate
  = 1 for the experimental arm, so HR < 1 favours SCS_CHEMO over CHEMO; p is the Wald test. A Cox
  model stratified by STRATA is reported alongside.
- Populations: "itt" = all records; "excluding_invalidated" drops records flagged invalidated.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import group_survival_table_from_events, median_survival_times
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from rescue_followup.domain.adtte import CONTROL_ARM, EXPERIMENTAL_ARM, PARAMCD_PFS, AdtteRow

DAYS_PER_MONTH = 30.4375
Population = Literal["itt", "excluding_invalidated"]


class AnalysisOptions(BaseModel):
    """Analysis settings (statistical analysis plan), defaults as documented above."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    experimental_arm: str = EXPERIMENTAL_ARM
    control_arm: str = CONTROL_ARM
    landmark_months: tuple[float, ...] = (6.0, 12.0, 24.0)
    at_risk_step_months: float = Field(default=3.0, gt=0)
    days_per_month: float = Field(default=DAYS_PER_MONTH, gt=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)


class KmLandmark(BaseModel):
    model_config = ConfigDict(frozen=True)

    months: float
    days: float
    survival: float | None
    ci_lower: float | None
    ci_upper: float | None


class MedianPfs(BaseModel):
    """Median PFS and CI in days and months; None = not reached."""

    model_config = ConfigDict(frozen=True)

    days: float | None
    ci_lower_days: float | None
    ci_upper_days: float | None
    months: float | None
    ci_lower_months: float | None
    ci_upper_months: float | None


class ArmSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    arm: str
    n: int
    events: int
    censored: int
    median: MedianPfs
    landmarks: tuple[KmLandmark, ...]


class LogrankResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    test_statistic: float
    degrees_of_freedom: int = 1
    p_value: float


class StratifiedLogrankResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    test_statistic: float | None
    degrees_of_freedom: int = 1
    p_value: float | None
    observed_minus_expected: float = Field(description="experimental arm, summed over strata")
    variance: float
    n_strata: int
    n_informative_strata: int = Field(description="strata with both arms present")


class CoxResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    comparison: str
    hazard_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    coef: float
    se: float
    ties: str = "efron"
    stratified: bool = False


class AtRiskPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    months: float
    days: float
    at_risk: dict[str, int]


class PfsAnalysis(BaseModel):
    """The primary-analysis read-out; `model_dump_json()` gives the JSON form."""

    model_config = ConfigDict(frozen=True)

    population: Population
    n: int
    confidence_level: float
    days_per_month: float
    arms: tuple[ArmSummary, ...]
    logrank: LogrankResult
    stratified_logrank: StratifiedLogrankResult
    cox: CoxResult | None
    cox_stratified: CoxResult | None
    at_risk: tuple[AtRiskPoint, ...]
    warnings: tuple[str, ...] = ()


Records = Sequence[AdtteRow] | pd.DataFrame


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in ("Y", "TRUE", "1")
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def analysis_frame(
    records: Records, population: Population = "itt", options: AnalysisOptions | None = None
) -> pd.DataFrame:
    """Validated frame (arm, time, event, stratum) of the population's PFS records.

    Accepts AdtteRow objects or a DataFrame with ADaM columns ARM, AVAL, CNSR and optionally
    STRATA, PARAMCD and INVALFL (Y/N) or `invalidated` (bool); lower-case names also work.
    """
    opts = options or AnalysisOptions()
    if isinstance(records, pd.DataFrame):
        df = records.rename(columns=lambda c: str(c).upper())
        missing = [c for c in ("ARM", "AVAL", "CNSR") if c not in df.columns]
        if missing:
            raise ValueError(f"records lack column(s) {missing}")
        if "INVALFL" in df.columns:
            invalid = df["INVALFL"].map(_flag)
        elif "INVALIDATED" in df.columns:
            invalid = df["INVALIDATED"].map(_flag)
        else:
            invalid = pd.Series(False, index=df.index)
        frame = pd.DataFrame(
            {
                "arm": df["ARM"].astype(str),
                "time": pd.to_numeric(df["AVAL"], errors="coerce"),
                "cnsr": pd.to_numeric(df["CNSR"], errors="coerce"),
                "stratum": df["STRATA"].fillna("").astype(str) if "STRATA" in df.columns else "",
                "invalidated": invalid.astype(bool),
                "paramcd": df["PARAMCD"].astype(str) if "PARAMCD" in df.columns else PARAMCD_PFS,
            }
        )
    else:
        frame = pd.DataFrame(
            {
                "arm": [r.arm for r in records],
                "time": [float(r.aval) for r in records],
                "cnsr": [r.cnsr for r in records],
                "stratum": [r.strata for r in records],
                "invalidated": [r.invalidated for r in records],
                "paramcd": [r.paramcd for r in records],
            }
        )
    frame = frame[frame["paramcd"] == PARAMCD_PFS]
    if population == "excluding_invalidated":
        frame = frame[~frame["invalidated"]]
    elif population != "itt":
        raise ValueError(f"unknown population {population!r}")
    arms = (opts.experimental_arm, opts.control_arm)
    problems: list[str] = []
    bad_arm = sorted(set(frame["arm"]) - set(arms))
    if bad_arm:
        problems.append(f"unknown arm(s) {bad_arm}")
    if frame["time"].isna().any() or (frame["time"] <= 0).any():
        problems.append("AVAL must be a positive number of days")
    if not frame["cnsr"].isin([0, 1]).all():
        problems.append("CNSR must be 0 or 1")
    for arm in arms:
        if not (frame["arm"] == arm).any():
            problems.append(f"arm {arm} has no subject in population {population!r}")
    if problems:
        raise ValueError("; ".join(problems))
    frame = frame.assign(event=(frame["cnsr"] == 0).astype(int))
    return frame[["arm", "time", "event", "stratum"]].reset_index(drop=True)


def _num(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _months(days: float | None, per_month: float) -> float | None:
    return None if days is None else days / per_month


def _arm_summary(arm: str, frame: pd.DataFrame, opts: AnalysisOptions) -> ArmSummary:
    kmf = KaplanMeierFitter(alpha=opts.alpha).fit(frame["time"], frame["event"], label=arm)
    median = _num(kmf.median_survival_time_)
    ci = median_survival_times(kmf.confidence_interval_)
    lower, upper = _num(ci.iloc[0, 0]), _num(ci.iloc[0, 1])
    last = float(frame["time"].max())
    band = kmf.confidence_interval_survival_function_
    landmarks = []
    for months in opts.landmark_months:
        days = months * opts.days_per_month
        if days > last:
            landmarks.append(
                KmLandmark(months=months, days=days, survival=None, ci_lower=None, ci_upper=None)
            )
            continue
        at = band.loc[:days].iloc[-1]
        landmarks.append(
            KmLandmark(
                months=months,
                days=days,
                survival=_num(kmf.survival_function_at_times(days).iloc[0]),
                ci_lower=_num(at.iloc[0]),
                ci_upper=_num(at.iloc[1]),
            )
        )
    per = opts.days_per_month
    return ArmSummary(
        arm=arm,
        n=len(frame),
        events=int(frame["event"].sum()),
        censored=int(len(frame) - frame["event"].sum()),
        median=MedianPfs(
            days=median,
            ci_lower_days=lower,
            ci_upper_days=upper,
            months=_months(median, per),
            ci_lower_months=_months(lower, per),
            ci_upper_months=_months(upper, per),
        ),
        landmarks=tuple(landmarks),
    )


def stratified_logrank(
    time: Sequence[float] | np.ndarray,
    event: Sequence[int] | np.ndarray,
    experimental: Sequence[bool] | np.ndarray,
    strata: Sequence[str] | np.ndarray,
) -> StratifiedLogrankResult:
    """Log-rank stratified by `strata`: per-stratum O-E and variance summed (see module doc)."""
    df = pd.DataFrame(
        {
            "time": np.asarray(time, dtype=float),
            "event": np.asarray(event, dtype=int),
            "group": np.where(np.asarray(experimental, dtype=bool), "exp", "ctl"),
            "stratum": np.asarray(strata, dtype=str),
        }
    )
    o_minus_e = variance = 0.0
    informative = 0
    for _, part in df.groupby("stratum", sort=True):
        if part["group"].nunique() < 2:
            continue  # a one-arm stratum carries no comparison
        informative += 1
        groups, removed, observed, _ = group_survival_table_from_events(
            part["group"], part["time"], part["event"]
        )
        exp_col = list(groups).index("exp")
        removed_arr, observed_arr = removed.to_numpy(float), observed.to_numpy(float)
        start_n = removed_arr.sum(axis=0)
        at_risk = start_n - np.vstack([np.zeros(2), np.cumsum(removed_arr, axis=0)[:-1]])
        n = at_risk.sum(axis=1)
        d = observed_arr.sum(axis=1)
        n_exp = at_risk[:, exp_col]
        o_minus_e += float(np.sum(observed_arr[:, exp_col] - n_exp * d / n))
        with np.errstate(divide="ignore", invalid="ignore"):
            v = n_exp * (n - n_exp) * d * (n - d) / (n**2 * (n - 1))
        variance += float(np.nansum(np.where(n > 1, v, 0.0)))
    if variance > 0:
        chi2 = o_minus_e**2 / variance
        p = float(stats.chi2.sf(chi2, 1))
    else:
        chi2 = p = None
    return StratifiedLogrankResult(
        test_statistic=chi2,
        p_value=p,
        observed_minus_expected=o_minus_e,
        variance=variance,
        n_strata=int(df["stratum"].nunique()),
        n_informative_strata=informative,
    )


def _cox(
    frame: pd.DataFrame, opts: AnalysisOptions, *, stratified: bool, notes: list[str]
) -> CoxResult | None:
    data = pd.DataFrame(
        {
            "time": frame["time"],
            "event": frame["event"],
            "treatment": (frame["arm"] == opts.experimental_arm).astype(int),
        }
    )
    if stratified:
        data["stratum"] = frame["stratum"]
    label = "stratified Cox" if stratified else "Cox"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cph = CoxPHFitter(alpha=opts.alpha, strata=["stratum"] if stratified else None)
            cph.fit(data, duration_col="time", event_col="event")
    except Exception as exc:  # lifelines signals non-convergence with several exception types
        notes.append(f"{label} model not estimable: {exc}")
        return None
    notes.extend(f"{label}: {w.message}" for w in caught)
    coef = float(cph.params_["treatment"])
    low, high = (float(x) for x in cph.confidence_intervals_.loc["treatment"])
    return CoxResult(
        comparison=f"{opts.experimental_arm} vs {opts.control_arm}",
        hazard_ratio=math.exp(coef),
        ci_lower=math.exp(low),
        ci_upper=math.exp(high),
        p_value=float(cph.summary.loc["treatment", "p"]),
        coef=coef,
        se=float(cph.standard_errors_["treatment"]),
        stratified=stratified,
    )


def numbers_at_risk(frame: pd.DataFrame, opts: AnalysisOptions) -> tuple[AtRiskPoint, ...]:
    """Subjects with AVAL >= t per arm, every `at_risk_step_months` up to the longest follow-up."""
    last = float(frame["time"].max())
    points = []
    k = 0
    while (days := k * opts.at_risk_step_months * opts.days_per_month) <= last:
        counts = {
            arm: int(((frame["arm"] == arm) & (frame["time"] >= days)).sum())
            for arm in (opts.experimental_arm, opts.control_arm)
        }
        points.append(AtRiskPoint(months=k * opts.at_risk_step_months, days=days, at_risk=counts))
        k += 1
    return tuple(points)


def analyse_pfs(
    records: Records, *, population: Population = "itt", options: AnalysisOptions | None = None
) -> PfsAnalysis:
    """KM by arm, medians, landmarks, log-rank (plain and stratified), Cox HR, numbers at risk."""
    opts = options or AnalysisOptions()
    frame = analysis_frame(records, population, opts)
    experimental = frame["arm"] == opts.experimental_arm
    exp_frame, ctl_frame = frame[experimental], frame[~experimental]
    notes: list[str] = []
    lr = logrank_test(exp_frame["time"], ctl_frame["time"], exp_frame["event"], ctl_frame["event"])
    return PfsAnalysis(
        population=population,
        n=len(frame),
        confidence_level=1 - opts.alpha,
        days_per_month=opts.days_per_month,
        arms=(
            _arm_summary(opts.experimental_arm, exp_frame, opts),
            _arm_summary(opts.control_arm, ctl_frame, opts),
        ),
        logrank=LogrankResult(test_statistic=float(lr.test_statistic), p_value=float(lr.p_value)),
        stratified_logrank=stratified_logrank(
            frame["time"], frame["event"], experimental, frame["stratum"]
        ),
        cox=_cox(frame, opts, stratified=False, notes=notes),
        cox_stratified=_cox(frame, opts, stratified=True, notes=notes),
        at_risk=numbers_at_risk(frame, opts),
        warnings=tuple(notes),
    )
