"""The cohort answer written as byte matrices: every float reads back exactly, and the answer
is, byte for byte, what the `csv` module (with the same float text) and `json` write for the same
figures."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from rescue_prediction.adapters.cells import Sparse, join_rows, table_cells, text_cells
from rescue_prediction.adapters.float_text import float_cells
from rescue_prediction.adapters.kelim_answer import csv_answer, csv_of_rows, json_results
from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.kinetics_batch import (
    SummaryColumns,
    summaries_of,
    summarise_columns,
)


def texts_of(cells: tuple[np.ndarray, np.ndarray]) -> list[str]:
    chars, lengths = cells
    texts = [bytes(row[row != 0]).decode() for row in chars]
    assert [len(t) for t in texts] == lengths.tolist()
    return texts


def digits(text: str) -> str:
    """The significant digits of a float's text: '-0.00120e5' -> '12'."""
    mantissa = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    return mantissa or "0"


def awkward_floats(rng: np.random.Generator, n: int) -> np.ndarray:
    bits = rng.integers(0, 2**63, n, dtype=np.int64).view(np.float64)
    powers = 10.0 ** rng.integers(-6, 17, n)
    return np.concatenate([
        rng.lognormal(-3.3, 0.6, n), rng.lognormal(0, 8, n), rng.uniform(-1, 1, n), bits, -bits,
        np.array([float(f"{x:.{d}f}") for x, d in zip(rng.uniform(0, 1e3, n).tolist(),
                                                      rng.integers(0, 8, n).tolist(),
                                                      strict=True)]),
        rng.integers(-10**6, 10**6, n).astype(float), powers, powers * (1 + 2.0**-52),
        powers * (1 - 2.0**-53), rng.integers(1, 2**53, n) / 2.0 ** rng.integers(0, 60, n),
        [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-4, 1e15, 9.999999999999999e14, 0.5, 2.0**-10,
         5e-324, 1.7976931348623157e308, 0.1, 0.3, 0.30000000000000004, 995066665607945.25]])


@pytest.mark.parametrize("seed", range(3))
def test_floats_read_back_exactly_and_look_as_repr_writes_them(seed: int) -> None:
    values = awkward_floats(np.random.default_rng(seed), 20_000)
    texts = texts_of(float_cells(values, b"null"))
    assert [float(t) if t != "null" else float("nan") for t in texts] == pytest.approx(
        values.tolist(), rel=0, abs=0, nan_ok=True)  # exact: every double reads back
    assert [t for t, v in zip(texts, values.tolist(), strict=True) if v != v] == [
        "null"] * int(np.isnan(values).sum())
    # as short as repr's: the same significant digits (positional or exponent form aside)
    assert [digits(t) for t, v in zip(texts, values.tolist(), strict=True) if v == v] == [
        digits(repr(v)) for v in values.tolist() if v == v]
    assert texts_of(float_cells(np.zeros(0), b"")) == []
    assert texts_of(float_cells(np.array([np.nan, 0.5]), b"")) == ["", "0.5"]


def test_rows_are_joined_with_sparse_texts_spliced_in_order() -> None:
    ids = text_cells([b"a", b"bb", b"", b"c,d"])
    counts = table_cells((b"0", b"1", b"22"), np.array([2, 0, 1, 1]))
    parts = [b"<", ids, b"|", Sparse(np.array([1, 3]), [b"x", b"yy"]),
             Sparse(np.array([3]), [b"z"]), counts, b">\n"]
    assert join_rows(parts, 4) == b"<a|22>\n<bb|x0>\n<|1>\n<c,d|yyz1>\n"
    with pytest.raises(ValueError, match="zero byte"):
        text_cells([b"a\0"])


def random_summaries(seed: int, n: int) -> SummaryColumns:
    """Figures of random series: fitted, rising, too short (a message), empty."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 7, n)
    index = np.repeat(np.arange(n), lengths)
    day = rng.integers(-40, 90, len(index)).astype(float)
    k = np.where(rng.random(n) < 0.9, rng.lognormal(np.log(0.037), 0.6, n), -0.01)[index]
    value = 900 * np.exp(-k * day + rng.normal(0, 0.1, len(index)))
    censoring = np.where(rng.random(len(index)) < 0.05, 1, 0).astype(np.int8)
    return summarise_columns(index, day, value, censoring, n, load_protocol().kinetics_settings())


IDS = ["P1", "with, comma", 'quoted "x"', "line\nbreak", "é ü", "tab\tx", "back\\slash",
       "unit\x1fsep", "", " spaced "]


@pytest.mark.parametrize("seed", range(3))
def test_answers_are_what_json_and_csv_write(seed: int) -> None:
    n = 500
    c = random_summaries(seed, n)
    ids = [IDS[i % len(IDS)] + str(i) for i in range(n)]
    rows = [[i, *asdict(s).values()] for i, s in zip(ids, summaries_of(c), strict=True)]
    assert {r[1] for r in rows} == {"estimated", "insufficient_data"}
    assert csv_answer(ids, c, header=True).decode() == csv_of_rows(rows)
    items = [{"id": i, **asdict(s)} for i, s in zip(ids, summaries_of(c), strict=True)]
    assert json.loads(f"[{json_results(ids, c).decode()}]") == items
    plain = [f"S{i}" for i in range(n)]  # the fast paths for ids
    assert csv_answer(plain, c, header=False).decode() == csv_of_rows(
        [[i, *r[1:]] for i, r in zip(plain, rows, strict=True)]).split("\n", 1)[1]


def test_an_id_with_a_nul_character_is_written_by_the_csv_module() -> None:
    c = random_summaries(9, 4)
    ids = ["a\0", "b", "c", "d"]
    rows = [[i, *asdict(s).values()] for i, s in zip(ids, summaries_of(c), strict=True)]
    assert csv_answer(ids, c, header=True).decode() == csv_of_rows(rows)
