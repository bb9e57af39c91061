"""Floats as text for a whole column at once: the shortest text that reads back to the same
double, written by orjson (the Ryu algorithm, in C).

`repr` costs about as much per float as the whole KELIM fit per series, and a cohort answer
writes five floats per series. orjson's texts are `repr`'s except in exponent form (`1e-5` for
`1e-05`, `1e16` for `1e+16`): any CSV or JSON reader reads both back to the same double. NaN is
written as the caller's `none`; an infinity (no JSON number) as `repr` writes it.
"""

from __future__ import annotations

import math

import numpy as np
import orjson

from rescue_prediction.adapters.cells import Cells, text_cells


def float_text(value: float) -> str:
    """One float as `float_cells` writes it (finite values)."""
    return orjson.dumps(value).decode() if math.isfinite(value) else repr(value)


def float_cells(values: np.ndarray, none: bytes) -> Cells:
    """Each float as text (module doc), `none` for NaN, as cells."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if not len(values):
        return text_cells([])
    # orjson writes NaN and the infinities as null, one text per value between the commas
    texts = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
    if none != b"null" or np.isinf(values).any():
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            texts[i] = none if values[i] != values[i] else repr(float(values[i])).encode()
    return text_cells(texts)
