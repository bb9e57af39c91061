"""Primary PFS analysis from ADTTE records: Kaplan-Meier, log-rank (plain and stratified), Cox.

Every figure agrees with R's `survival` package (3.x) to 1e-6 relative or better; the unit tests
hold R's figures for R's `veteran` data and, where `Rscript` is installed, run R on fresh data.
docs/statistics.md gives each convention with its source. Conventions (R call in brackets):

- Time is AVAL in days. Months = days / 30.4375 (365.25 / 12, the mean Gregorian month), used for
  landmarks (6/12/24 months), the numbers-at-risk grid and the month read-outs.
- Kaplan-Meier: S(t) = exp(cumsum(log(n - d) - log n)) over the distinct times, Greenwood
  variance of log S(t), sum d / (n (n - d)), 95 % intervals on the log-log scale,
  exp(-exp(log(-log S) +/- z se / log S)) [`survfit(..., conf.type = "log-log")`; R's default
  is "log", SAS LIFETEST's default is log-log]: lifelines' `KaplanMeierFitter` formulas, in numpy
  (lifelines and scipy would add some 60 MB to the service for these few lines; the tests compare
  with both and with R). The interval is undefined (None) where S(t) is 0 or 1, as in R
  (lifelines reports 1.0 there).
- Median and its CI [`print(survfit)`, `summary(survfit)$table`]: the first time S(t) < 0.5 +
  sqrt(machine epsilon); when S(t) equals 0.5 (within that tolerance) up to a later drop, the
  midpoint of the flat segment (e.g. 52.5 where S = 0.5 from day 52 until the drop at day 53).
  The CI limits are the same rule applied to the lower and upper band; a limit never reached is
  None ("not reached"). (lifelines takes the first time S <= 0.5, never the midpoint.)
- Landmarks [`summary(survfit, times = t)`]: S and band at the last curve time <= t; before the
  first curve time S = 1 with band (1, 1); beyond the last follow-up time of an arm, None.
- Numbers at risk at time t: subjects with AVAL >= t [`summary(survfit, times = t)$n.risk`].
- Log-rank [`survdiff(Surv(AVAL, event) ~ arm)`]: (O - E)^2 / V of the experimental arm,
  hypergeometric variance, chi-square on 1 df. Stratified [`survdiff(... ~ arm + strata(STRATA))`]:
  O - E and V summed over strata, then (sum O-E)^2 / sum V. lifelines has no stratified log-rank;
  both tests are one vectorised pass over a (stratum, time) risk table (with one stratum the same
  sums as `lifelines.statistics.logrank_test`, which the tests check).
- Cox [`coxph(Surv(AVAL, event) ~ arm, ties = "efron")`, and `+ strata(STRATA)`]: one covariate =
  1 for the experimental arm, so HR < 1 favours SCS_CHEMO over CHEMO; Efron ties; Wald z test and
  Wald interval exp(coef +/- z se), se from the observed information. Fitted by Newton-Raphson on
  the Efron partial likelihood aggregated by (stratum, time), run to convergence (step below
  1e-12): lifelines' `CoxPHFitter` stops at its default tolerance (HR about 4e-5 off R on the
  veteran data) and takes seconds per fit at 100,000 subjects. A likelihood without a finite
  maximum (e.g. no event in one arm) gives no model (None) and a warning.
- Populations: "itt" = all records; "excluding_invalidated" drops records flagged invalidated.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal, SupportsFloat, TypeAlias

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rescue_followup.domain.adtte import CONTROL_ARM, EXPERIMENTAL_ARM, PARAMCD_PFS, AdtteRow

if TYPE_CHECKING:  # pandas loads with the first analysis, not with the service (~35 MB)
    import pandas as pd

DAYS_PER_MONTH = 30.4375
R_TOLERANCE = math.sqrt(sys.float_info.epsilon)  # R: .Machine$double.eps^0.5
COX_STEP_TOLERANCE = 1e-12
COX_MAX_ITERATIONS = 100
COX_MAX_ABS_COEF = 25.0  # |log HR| beyond this: the likelihood has no finite maximum
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


class Conventions(BaseModel):
    """How each figure is computed, named as R's survival package computes it."""

    model_config = ConfigDict(frozen=True)

    reference: str = "R survival 3.x; every figure agrees with it to 1e-6 relative"
    km_variance: str = "Greenwood"
    km_interval: Literal["log-log"] = "log-log"
    km_interval_r: str = 'survfit(Surv(AVAL, 1 - CNSR) ~ ARM, conf.type = "log-log")'
    median_rule: str = (
        "first time S(t) < 0.5; midpoint of the flat segment where S(t) = 0.5 (tolerance "
        "sqrt(machine epsilon)); CI: the same rule on the lower and upper bands; None = not "
        "reached (R print.survfit / summary(fit)$table)")
    landmark_rule: str = ("S and band at the last curve time <= t (R summary(fit, times = t)); "
                          "None beyond the last follow-up time")
    at_risk_rule: str = "AVAL >= t"
    logrank: str = "survdiff(Surv(AVAL, 1 - CNSR) ~ ARM), hypergeometric variance, chi-square 1 df"
    stratified_logrank: str = "survdiff(Surv(AVAL, 1 - CNSR) ~ ARM + strata(STRATA))"
    cox_ties: Literal["efron"] = "efron"
    cox: str = ('coxph(Surv(AVAL, 1 - CNSR) ~ ARM, ties = "efron") (and + strata(STRATA)), '
                "Wald test and interval, converged to |step| < 1e-12")
    time_unit: str = "days; months = days / days_per_month"


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
    conventions: Conventions = Conventions()


Records: TypeAlias = "Sequence[AdtteRow] | pd.DataFrame"
_TRUE_FLAGS = ("Y", "TRUE", "1")


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in _TRUE_FLAGS
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def _flags(column: pd.Series) -> pd.Series:
    """`_flag` of every value, evaluated once per distinct value."""
    import pandas as pd

    codes, uniques = pd.factorize(column)
    flags = np.array([_flag(u) for u in uniques] + [False], dtype=bool)
    return pd.Series(flags[codes], index=column.index)  # code -1 (missing) reads False


def analysis_frame(
    records: Records, population: Population = "itt", options: AnalysisOptions | None = None
) -> pd.DataFrame:
    """Validated frame (arm, time, event, stratum) of the population's PFS records.

    Accepts AdtteRow objects or a DataFrame with ADaM columns ARM, AVAL, CNSR and optionally
    STRATA, PARAMCD and INVALFL (Y/N) or `invalidated` (bool); lower-case names also work.
    """
    import pandas as pd

    opts = options or AnalysisOptions()
    if isinstance(records, pd.DataFrame):
        df = records.rename(columns=lambda c: str(c).upper())
        missing = [c for c in ("ARM", "AVAL", "CNSR") if c not in df.columns]
        if missing:
            raise ValueError(f"records lack column(s) {missing}")
        if "INVALFL" in df.columns:
            invalid = _flags(df["INVALFL"])
        elif "INVALIDATED" in df.columns:
            invalid = _flags(df["INVALIDATED"])
        else:
            invalid = pd.Series(False, index=df.index)
        frame = pd.DataFrame(
            {
                "arm": df["ARM"].astype(str),
                "time": pd.to_numeric(df["AVAL"], errors="coerce").astype(float),
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
    keep = (frame["paramcd"] == PARAMCD_PFS).to_numpy()
    if population == "excluding_invalidated":
        keep &= ~frame["invalidated"].to_numpy(bool)
    elif population != "itt":
        raise ValueError(f"unknown population {population!r}")
    if not keep.all():
        frame = frame[keep]
    arms = (opts.experimental_arm, opts.control_arm)
    problems: list[str] = []
    present = set(pd.unique(frame["arm"]))
    bad_arm = sorted(present - set(arms))
    if bad_arm:
        problems.append(f"unknown arm(s) {bad_arm}")
    if frame["time"].isna().any() or (frame["time"] <= 0).any():
        problems.append("AVAL must be a positive number of days")
    if not frame["cnsr"].isin([0, 1]).all():
        problems.append("CNSR must be 0 or 1")
    for arm in arms:
        if arm not in present:
            problems.append(f"arm {arm} has no subject in population {population!r}")
    if problems:
        raise ValueError("; ".join(problems))
    frame = frame.assign(event=(frame["cnsr"] == 0).astype(int))
    return frame[["arm", "time", "event", "stratum"]].reset_index(drop=True)


def _num(value: SupportsFloat) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _months(days: float | None, per_month: float) -> float | None:
    return None if days is None else days / per_month


# --- Kaplan-Meier read-outs -------------------------------------------------------------------


@dataclass(frozen=True)
class KmCurve:
    """One arm's KM curve at every distinct AVAL (events and censorings), ascending.

    `lower` / `upper` are the log-log band, NaN where undefined (S(t) = 0 or 1), as in R.
    """

    time: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def normal_quantile(p: float) -> float:
    """The standard normal quantile (scipy's `norm.ppf`; stdlib, to machine precision)."""
    return NormalDist().inv_cdf(p)


def chi2_1df_sf(x: float) -> float:
    """P(chi-square on 1 df > x) = erfc(sqrt(x / 2)) (scipy's `chi2.sf(x, 1)`); NaN stays NaN."""
    return math.erfc(math.sqrt(x / 2))


def two_sided_normal_p(z: float) -> float:
    """P(|Z| > |z|) = erfc(|z| / sqrt 2) (scipy's `2 * ndtr(-|z|)`)."""
    return math.erfc(abs(z) / math.sqrt(2))


def kaplan_meier(time: np.ndarray, event: np.ndarray, alpha: float = 0.05) -> KmCurve:
    """KM and exponential-Greenwood (log-log) band at every distinct time, with R's NA rule
    (lifelines' formulas, see the module doc)."""
    times, at = np.unique(np.asarray(time, float), return_inverse=True)
    removed = np.bincount(at, minlength=len(times))
    deaths = np.bincount(at, weights=np.asarray(event, float), minlength=len(times))
    at_risk = (len(at) - np.concatenate(([0], np.cumsum(removed)[:-1]))).astype(float)
    survivors = at_risk - deaths
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.cumsum(np.log(survivors) - np.log(at_risk))
        # Greenwood; a time where every one at risk fails adds 0 (lifelines' rule: S is 0 there)
        greenwood = np.cumsum(np.where(survivors > 0, deaths / (at_risk * survivors), 0.0))
        survival = np.exp(log_s)
        spread = normal_quantile(1 - alpha / 2) * np.sqrt(greenwood) / log_s
        lower = np.exp(-np.exp(np.log(-log_s) - spread))
        upper = np.exp(-np.exp(np.log(-log_s) + spread))
    undefined = (survival <= 0) | (survival >= 1)  # R has NA there (lifelines: 1.0)
    return KmCurve(time=times, survival=survival, lower=np.where(undefined, np.nan, lower),
                   upper=np.where(undefined, np.nan, upper))


def r_median(times: np.ndarray, values: np.ndarray) -> float | None:
    """Time a curve reaches 0.5 by R's rule (survival:::survmean, used by print.survfit).

    The first time the value is below 0.5 + tolerance; if that value is 0.5 (within the
    tolerance) and the curve drops later, the midpoint up to that drop. NaN values are skipped;
    None when the curve never reaches 0.5.
    """
    keep = ~np.isnan(values) & (values < 0.5 + R_TOLERANCE)
    if not keep.any():
        return None
    x, y = times[keep], values[keep]
    if abs(y[0] - 0.5) < R_TOLERANCE:
        lower = np.flatnonzero(y < y[0])
        if lower.size:
            return float((x[0] + x[lower[0]]) / 2)
    return float(x[0])


def _landmark(curve: KmCurve, months: float, days: float, last: float) -> KmLandmark:
    if days > last:
        return KmLandmark(months=months, days=days, survival=None, ci_lower=None, ci_upper=None)
    at = int(np.searchsorted(curve.time, days, side="right")) - 1
    if at < 0:  # before the first curve time: R reports S = 1 with the band (1, 1)
        return KmLandmark(months=months, days=days, survival=1.0, ci_lower=1.0, ci_upper=1.0)
    return KmLandmark(
        months=months,
        days=days,
        survival=_num(curve.survival[at]),
        ci_lower=_num(curve.lower[at]),
        ci_upper=_num(curve.upper[at]),
    )


def _arm_summary(
    arm: str, time: np.ndarray, event: np.ndarray, opts: AnalysisOptions
) -> ArmSummary:
    curve = kaplan_meier(time, event, opts.alpha)
    median = r_median(curve.time, curve.survival)
    lower = r_median(curve.time, curve.lower)
    upper = r_median(curve.time, curve.upper)
    last = float(time.max())
    landmarks = tuple(
        _landmark(curve, months, months * opts.days_per_month, last)
        for months in opts.landmark_months
    )
    per = opts.days_per_month
    events = int(event.sum())
    return ArmSummary(
        arm=arm,
        n=len(time),
        events=events,
        censored=len(time) - events,
        median=MedianPfs(
            days=median,
            ci_lower_days=lower,
            ci_upper_days=upper,
            months=_months(median, per),
            ci_lower_months=_months(lower, per),
            ci_upper_months=_months(upper, per),
        ),
        landmarks=landmarks,
    )


# --- Risk table, log-rank and Cox ---------------------------------------------------------------


@dataclass(frozen=True)
class RiskTable:
    """Per (stratum, distinct time) with at least one event: who is at risk and who fails.

    `at_risk` / `events` count both arms, `at_risk_exp` / `events_exp` the experimental arm.
    Rows without events are dropped: they add nothing to log-rank or Cox sums.
    """

    stratum: np.ndarray
    at_risk: np.ndarray
    at_risk_exp: np.ndarray
    events: np.ndarray
    events_exp: np.ndarray
    n_strata: int
    n_informative_strata: int


def risk_table(
    time: np.ndarray, event: np.ndarray, experimental: np.ndarray, strata: np.ndarray
) -> RiskTable:
    """One sort and a few bincounts: the risk sets of every (stratum, time) in O(n log n)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    exp = np.asarray(experimental, dtype=float)
    codes = np.asarray(strata, dtype=np.int64)
    order = np.lexsort((time, codes))
    t, c, e, x = time[order], codes[order], event[order], exp[order]
    if len(t) == 0:
        empty = np.zeros(0)
        return RiskTable(empty.astype(np.int64), empty, empty, empty, empty, 0, 0)
    starts = np.flatnonzero(np.r_[True, (t[1:] != t[:-1]) | (c[1:] != c[:-1])])
    group = np.cumsum(np.r_[True, (t[1:] != t[:-1]) | (c[1:] != c[:-1])]) - 1
    n_groups = len(starts)
    removed = np.bincount(group, minlength=n_groups).astype(float)
    removed_exp = np.bincount(group, weights=x, minlength=n_groups)
    events = np.bincount(group, weights=e, minlength=n_groups)
    events_exp = np.bincount(group, weights=e * x, minlength=n_groups)
    group_stratum = c[starts]
    # at risk = removed at this time or later within the stratum: suffix sums per stratum
    stratum_end = np.r_[np.flatnonzero(group_stratum[1:] != group_stratum[:-1]), n_groups - 1]
    end_of = np.repeat(stratum_end, np.diff(np.r_[-1, stratum_end]))
    suffix = np.cumsum(removed[::-1])[::-1]
    suffix_exp = np.cumsum(removed_exp[::-1])[::-1]
    after = np.r_[suffix[1:], 0.0][end_of]
    after_exp = np.r_[suffix_exp[1:], 0.0][end_of]
    at_risk, at_risk_exp = suffix - after, suffix_exp - after_exp
    per_stratum = np.bincount(c, minlength=int(c.max()) + 1)
    exp_per_stratum = np.bincount(c, weights=x, minlength=int(c.max()) + 1)
    present = per_stratum > 0
    informative = int(np.sum(present & (exp_per_stratum > 0) & (exp_per_stratum < per_stratum)))
    has_event = events > 0
    return RiskTable(
        stratum=group_stratum[has_event],
        at_risk=at_risk[has_event],
        at_risk_exp=at_risk_exp[has_event],
        events=events[has_event],
        events_exp=events_exp[has_event],
        n_strata=int(present.sum()),
        n_informative_strata=informative,
    )


def logrank_sums(table: RiskTable) -> tuple[float, float]:
    """Experimental arm's O - E and hypergeometric variance, summed over the table's rows."""
    n, n1, d, d1 = table.at_risk, table.at_risk_exp, table.events, table.events_exp
    o_minus_e = float(np.sum(d1 - n1 * d / n))
    several = n > 1
    n, n1, d = n[several], n1[several], d[several]
    variance = float(np.sum(n1 * (n - n1) * d * (n - d) / (n * n * (n - 1))))
    return o_minus_e, variance


def _strata_codes(strata: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """0-based codes of the strata labels (as text: None or NaN are labels like any other)."""
    import pandas as pd

    labels = pd.Series(np.asarray(strata, dtype=object)).astype(str)
    codes: np.ndarray = np.asarray(pd.factorize(labels, sort=True)[0], dtype=np.int64)
    return codes


def stratified_logrank(
    time: Sequence[float] | np.ndarray,
    event: Sequence[int] | np.ndarray,
    experimental: Sequence[bool] | np.ndarray,
    strata: Sequence[str] | np.ndarray,
) -> StratifiedLogrankResult:
    """Log-rank stratified by `strata`: per-stratum O-E and variance summed (see module doc)."""
    table = risk_table(
        np.asarray(time, float), np.asarray(event, float), np.asarray(experimental, bool),
        _strata_codes(strata),
    )
    return _stratified_result(table)


def _stratified_result(table: RiskTable) -> StratifiedLogrankResult:
    o_minus_e, variance = logrank_sums(table)
    chi2: float | None = None
    p: float | None = None
    if variance > 0:
        chi2 = o_minus_e**2 / variance
        p = chi2_1df_sf(chi2)
    return StratifiedLogrankResult(
        test_statistic=chi2,
        p_value=p,
        observed_minus_expected=o_minus_e,
        variance=variance,
        n_strata=table.n_strata,
        n_informative_strata=table.n_informative_strata,
    )


class CoxNotEstimable(ValueError):
    """The partial likelihood has no finite maximum, or no information about the arm."""


@dataclass(frozen=True)
class CoxFit:
    coef: float
    se: float
    loglik: float
    iterations: int


def efron_cox(table: RiskTable) -> CoxFit:
    """Newton-Raphson on the Efron partial likelihood of one binary covariate (the arm).

    For a tie of d events at a time with risk-set sums S0 = n0 + n1 r, S1 = n1 r (r = e^beta)
    and event sums D0 = d0 + d1 r, D1 = d1 r, Efron's likelihood takes, for l = 0 .. d-1,
    a_l = S0 - (l/d) D0 and b_l = S1 - (l/d) D1: loglik = sum(beta d1 - sum_l log a_l),
    score = sum(d1 - sum_l b_l / a_l), information = sum_l b_l (a_l - b_l) / a_l^2 (x^2 = x).
    Strata simply sum (each row's risk set is within its stratum). Steps are halved while the
    log-likelihood falls, as R's coxph does.
    """
    d = table.events
    if d.size == 0:
        raise CoxNotEstimable("no event")
    counts = d.astype(np.int64)
    row = np.repeat(np.arange(len(d)), counts)
    fraction = (np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)) / d[row]
    n1, d1 = table.at_risk_exp[row], table.events_exp[row]
    n0 = table.at_risk[row] - n1
    d0 = d[row] - d1
    control_part = n0 - fraction * d0  # a_l - b_l: does not depend on beta
    exp_part = n1 - fraction * d1  # b_l / r
    total_d1 = float(table.events_exp.sum())

    def evaluate(beta: float) -> tuple[float, float, float]:
        b = exp_part * math.exp(beta)
        a = control_part + b
        loglik = beta * total_d1 - float(np.sum(np.log(a)))
        score = total_d1 - float(np.sum(b / a))
        information = float(np.sum(b * control_part / (a * a)))
        return loglik, score, information

    beta = 0.0
    loglik, score, information = evaluate(beta)
    for iteration in range(1, COX_MAX_ITERATIONS + 1):
        if not information > 0:
            raise CoxNotEstimable("no information about the arm (one arm has no one at risk "
                                  "at any event time)")
        step = score / information
        candidate = beta + step
        new = evaluate(candidate)
        halvings = 0
        while new[0] < loglik and halvings < 30:  # R: step halving while the likelihood falls
            step /= 2
            candidate = beta + step
            new = evaluate(candidate)
            halvings += 1
        beta, (loglik, score, information) = candidate, new
        if abs(beta) > COX_MAX_ABS_COEF:
            raise CoxNotEstimable(
                "the partial likelihood has no finite maximum (monotone likelihood: the events "
                "of the strata fall in one arm), so the hazard ratio is 0 or infinite")
        if abs(step) <= COX_STEP_TOLERANCE * max(1.0, abs(beta)):
            if not information > 0:
                raise CoxNotEstimable("no information about the arm at the maximum")
            return CoxFit(beta, 1 / math.sqrt(information), loglik, iteration)
    raise CoxNotEstimable(f"Newton-Raphson did not converge in {COX_MAX_ITERATIONS} iterations")


def _cox_result(
    table: RiskTable, opts: AnalysisOptions, *, stratified: bool, notes: list[str]
) -> CoxResult | None:
    label = "stratified Cox" if stratified else "Cox"
    try:
        fit = efron_cox(table)
    except CoxNotEstimable as exc:
        notes.append(f"{label} model not estimable: {exc}")
        return None
    z = normal_quantile(1 - opts.alpha / 2)
    return CoxResult(
        comparison=f"{opts.experimental_arm} vs {opts.control_arm}",
        hazard_ratio=math.exp(fit.coef),
        ci_lower=math.exp(fit.coef - z * fit.se),
        ci_upper=math.exp(fit.coef + z * fit.se),
        p_value=two_sided_normal_p(fit.coef / fit.se),
        coef=fit.coef,
        se=fit.se,
        stratified=stratified,
    )


def _at_risk_points(
    time: np.ndarray, experimental: np.ndarray, opts: AnalysisOptions
) -> tuple[AtRiskPoint, ...]:
    last = float(time.max())
    step = opts.at_risk_step_months * opts.days_per_month
    grid = []
    k = 0
    while (days := k * step) <= last:
        grid.append((k * opts.at_risk_step_months, days))
        k += 1
    days_grid = np.array([days for _, days in grid])
    counts = {}
    for arm, chosen in ((opts.experimental_arm, experimental), (opts.control_arm, ~experimental)):
        ordered = np.sort(time[chosen])
        counts[arm] = len(ordered) - np.searchsorted(ordered, days_grid, side="left")
    return tuple(
        AtRiskPoint(months=months, days=days, at_risk={arm: int(c[i]) for arm, c in counts.items()})
        for i, (months, days) in enumerate(grid)
    )


def numbers_at_risk(frame: pd.DataFrame, opts: AnalysisOptions) -> tuple[AtRiskPoint, ...]:
    """Subjects with AVAL >= t per arm, every `at_risk_step_months` up to the longest follow-up."""
    return _at_risk_points(
        frame["time"].to_numpy(float), (frame["arm"] == opts.experimental_arm).to_numpy(), opts
    )


def analyse_pfs(
    records: Records, *, population: Population = "itt", options: AnalysisOptions | None = None
) -> PfsAnalysis:
    """KM by arm, medians, landmarks, log-rank (plain and stratified), Cox HR, numbers at risk."""
    opts = options or AnalysisOptions()
    frame = analysis_frame(records, population, opts)
    time = frame["time"].to_numpy(float)
    event = frame["event"].to_numpy(float)
    experimental = (frame["arm"] == opts.experimental_arm).to_numpy()
    one_stratum = np.zeros(len(time), dtype=np.int64)
    plain = risk_table(time, event, experimental, one_stratum)
    stratified = risk_table(time, event, experimental, _strata_codes(frame["stratum"]))
    o_minus_e, variance = logrank_sums(plain)
    chi2 = o_minus_e**2 / variance if variance > 0 else math.nan
    notes: list[str] = []
    return PfsAnalysis(
        population=population,
        n=len(frame),
        confidence_level=1 - opts.alpha,
        days_per_month=opts.days_per_month,
        arms=(
            _arm_summary(opts.experimental_arm, time[experimental], event[experimental], opts),
            _arm_summary(opts.control_arm, time[~experimental], event[~experimental], opts),
        ),
        logrank=LogrankResult(test_statistic=chi2, p_value=chi2_1df_sf(chi2)),
        stratified_logrank=_stratified_result(stratified),
        cox=_cox_result(plain, opts, stratified=False, notes=notes),
        cox_stratified=_cox_result(stratified, opts, stratified=True, notes=notes),
        at_risk=_at_risk_points(time, experimental, opts),
        warnings=tuple(notes),
    )
