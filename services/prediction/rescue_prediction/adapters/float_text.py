"""Floats written as `repr` writes them (the shortest text that reads back to the same double,
as `json` and `csv` write), for a whole array at once.

`repr` costs about as much per float as the whole KELIM fit per series, and a cohort answer
writes five floats per series. Here the digits are found with array arithmetic:
- a decimal with at most 15 significant digits, M / 10**D, reads back exactly as the one IEEE
  division of the two exact doubles M and 10**D, so "does it read back?" is one comparison;
- with 16 or 17 digits M exceeds 2**53: a·10**D is then formed exactly as a double-double
  (Dekker's product), and M reads back iff |M - a·10**D| < ulp(a)·10**D / 2.
Python's shortest repr is the nearest decimal with the fewest digits that reads back, so trying
15, then 16, then 17 significant digits (and fewer than 15 when 15 read back) finds it. Values
outside 1e-4..1e15 (written in exponent form), powers of two (a narrower rounding interval
below) and the rare ties or boundary cases are written by `repr` itself.
"""

from __future__ import annotations

import numpy as np

from rescue_prediction.adapters.cells import Cells, text_cells

_POW10 = np.array([float(10**i) for i in range(23)])  # exact doubles
_POW10_INT = np.array([10**i for i in range(19)], dtype=np.int64)
_SPLIT = 134217729.0  # 2**27 + 1: Dekker's splitting constant
_ZERO, _DOT, _MINUS = 48, 46, 45


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = _SPLIT * x
    high = c - (c - x)
    return high, x - high


def _exact_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p, e) with p + e == a·b exactly (no overflow or underflow here)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _nearest_exact(a: np.ndarray, decimals: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The integer M nearest a·10**decimals, whether M / 10**decimals reads back as a, and
    where either answer is too close to call (left to `repr`)."""
    scale = _POW10[decimals]
    high, low = _exact_product(a, scale)
    whole = np.rint(high)
    below = high - whole  # exact: |below| <= 0.5
    fraction = below + low
    step = np.rint(fraction)
    tie = np.abs(fraction - step) == 0.5
    mantissa = whole.astype(np.int64) + step.astype(np.int64)
    distance = np.abs((step - below) - low)  # |M - a·10**D|, step - below exact
    bound = np.spacing(a) * scale / 2  # exact: a power of two times 10**D
    return mantissa, distance < bound, tie | (distance == bound)


_PLACES = 22  # digit places written: M < 10**17, and up to 21 decimals for 1e-4 <= |v|
_PLACE = np.arange(_PLACES - 1, -1, -1)  # the place of each digit column, highest first
_NINE = np.array([10**p for p in range(10)], dtype=np.int32)[:, None]


def _digits(mantissa: np.ndarray) -> np.ndarray:
    """(_PLACES x rows) decimal digits of M (< 10**18), highest place first, in two halves of
    9 digits computed in int32 (place-major: numpy's fast path for these divisions)."""
    high, low = np.divmod(mantissa, 10**9)
    out = np.zeros((_PLACES, len(mantissa)), dtype=np.uint8)
    for half, last in ((low, _PLACES), (high, _PLACES - 9)):
        q = half.astype(np.int32)[None, :] // _NINE
        out[last - 9:last] = (q[:-1] - 10 * q[1:])[::-1]
    return out


def _layout(negative: np.ndarray, mantissa: np.ndarray, decimals: np.ndarray) -> Cells:
    """'-'? integer digits '.' fraction digits (at least one) of M / 10**D.

    Columns: '-', then for each place p from the highest down to 0 the digit of 10**p in M,
    followed (for the places some D equals) by a '.' kept where D == p; then a '0' kept where
    D == 0 (the '.0' of whole numbers). The masks keep the digits from the leading one (or the
    units when M < 10**D) down. Built place-major, returned transposed."""
    rows = len(mantissa)
    top = np.maximum(decimals, np.searchsorted(_POW10_INT, mantissa, side="right") - 1)
    high = int(top.max(initial=0))
    first_point, last_point = int(decimals.min(initial=0)), int(decimals.max(initial=0))
    places = _PLACE[_PLACES - 1 - high:]  # high .. 0
    points = np.arange(last_point, first_point - 1, -1)  # the places a '.' follows
    # row of each digit and each '.' in the place-major matrix: after '-', digit p then '.'
    digit_row = 1 + (high - places) + np.clip(last_point - places, 0, len(points))
    point_row = digit_row[high - points] + 1
    whole = decimals == 0
    chars = np.zeros((digit_row[-1] + (0 in points) + 2, rows), dtype=np.uint8)
    chars[0] = _MINUS * negative
    chars[digit_row] = (_ZERO + _digits(mantissa)[_PLACES - 1 - high:]) * (places[:, None] <= top)
    chars[point_row] = _DOT * (points[:, None] == decimals)
    chars[-1] = _ZERO * whole
    return chars.T, negative + top + 2 + whole


def _fewest_places(a: np.ndarray, most: np.ndarray) -> np.ndarray:
    """The fewest decimals (<= most, which read back, with M < 2**53) that read back as a."""
    places = most.copy()
    for d in range(int(most.max(initial=-1)), -1, -1):
        reads_back = np.rint(a * _POW10[d]) / _POW10[d] == a
        places = np.where(reads_back & (d <= most), d, places)
    return places


def float_cells(values: np.ndarray, none: bytes) -> Cells:
    """Each float as `repr` writes it, `none` for NaN, as cells."""
    values = np.asarray(values, dtype=float)
    a_all = np.abs(values)
    with np.errstate(all="ignore"):
        usable = (np.isfinite(a_all) & (a_all >= 1e-4) & (a_all < 1e15)
                  & (np.frexp(a_all)[0] != 0.5))
        exponent_all = np.floor(np.log10(np.where(usable, a_all, 1.0))).astype(np.int64)
    usable &= (exponent_all >= -4) & (exponent_all <= 14)  # log10 may round up to 15
    index = np.flatnonzero(usable)
    a, exponent = a_all[index], exponent_all[index]
    mantissa = np.zeros(len(a), dtype=np.int64)
    decimals = np.full(len(a), -1, dtype=np.int64)  # -1: not found yet
    # 15 significant digits: M < 2**53, one exact division says whether it reads back.
    d15 = 14 - exponent
    m15 = np.rint(a * _POW10[d15])
    short = np.flatnonzero((m15 / _POW10[d15] == a) & (m15 < _POW10[15]))
    if short.size:  # fewer digits may do
        decimals[short] = _fewest_places(a[short], d15[short])
        mantissa[short] = np.rint(a[short] * _POW10[decimals[short]]).astype(np.int64)
    for digits in (16, 17):
        rest = np.flatnonzero(decimals == -1)
        places = digits - 1 - exponent[rest]
        m, reads_back, unsure = _nearest_exact(a[rest], places)
        in_range = (m >= _POW10_INT[digits - 1]) & (m < _POW10_INT[min(digits, 18)])
        found = reads_back & ~unsure & in_range
        mantissa[rest[found]], decimals[rest[found]] = m[found], places[found]
        decimals[rest[~found & (unsure | ~in_range)]] = -2  # too close to call, or log10 off
    done = decimals >= 0  # 17 digits always read back: anything else is left to repr
    mantissa[~done], decimals[~done] = 0, 0
    chars, lengths = _layout(values[index] < 0, mantissa, decimals)
    if len(index) == len(values) and done.all():
        return chars, lengths
    others = np.concatenate((np.flatnonzero(~usable), index[~done]))
    texts = [none if v != v else repr(v).encode() for v in values[others].tolist()]
    extra_chars, extra_lengths = text_cells(texts)
    width = max(chars.shape[1], extra_chars.shape[1])
    out_chars = np.zeros((len(values), width), dtype=np.uint8)
    out_lengths = np.zeros(len(values), dtype=np.int64)
    for rows, c, n in ((index[done], chars[done], lengths[done]),
                       (others, extra_chars, extra_lengths)):
        out_chars[rows, width - c.shape[1]:] = c
        out_lengths[rows] = n
    return out_chars, out_lengths
