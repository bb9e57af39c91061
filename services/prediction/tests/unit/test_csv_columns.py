"""The numpy split of plain CSV files reads what pandas reads, cell for cell."""

from __future__ import annotations

import io
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from rescue_prediction.adapters import kelim_csv
from rescue_prediction.adapters.csv_columns import FrameColumns, split_plain
from rescue_shared.errors import Invalid

NUMBERS = ["1", "0", "12.5", "007.250", "5.", ".5", "123456789012345", "1234567890123456",
           "0.1234567890123456789", "1e3", "1E-2", "-4", "+3.5", " 12", "12 ", "1_000", "abc",
           "", ".", "1.2.3", "nan", "inf", "-0", "99999999999999.9", "0.000000000000001",
           "4503599627370497", "9007199254740993"]


def python_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def same_float(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def pandas_columns(body: bytes) -> FrameColumns:
    return FrameColumns(pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False,
                                    na_filter=False, skipinitialspace=True))


def random_file(seed: int, rows: int = 400) -> bytes:
    rng = np.random.default_rng(seed)
    lines = ["id , value,when"]
    for _ in range(rows):
        number = (str(rng.choice(NUMBERS)) if rng.random() < 0.3 else
                  f"{rng.lognormal(3, 2):.{int(rng.integers(0, 12))}f}")
        ident = "".join(rng.choice(list("ab c-_/19"), size=int(rng.integers(0, 20))))
        lines.append(f"{ident},{number},2026-{int(rng.integers(1, 13)):02d}-0{rng.integers(1, 9)}")
    return ("\n".join(lines) + ("\n" if seed % 2 else "")).encode()


@pytest.mark.parametrize(("seed", "crlf"), [(s, s >= 4) for s in range(6)])
def test_plain_files_read_as_pandas_reads_them(seed: int, crlf: bool) -> None:
    body = random_file(seed)
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    plain, frame = split_plain(body), pandas_columns(body)
    assert plain is not None and plain.names == frame.names == ["id", "value", "when"]
    assert len(plain) == len(frame)
    for name in ("id", "when"):
        codes, distinct = plain.text(name)
        expected_codes, expected = frame.text(name)
        # pandas skips a cell's leading spaces; the plain split keeps them (every rule strips)
        assert [distinct[c].lstrip(" ") for c in codes] == [expected[c] for c in expected_codes]
    values = plain.numbers("value")
    for got, text in zip(values.tolist(), frame.frame["value"].tolist(), strict=True):
        assert same_float(got, python_float(text)), text


def test_every_plain_number_is_python_float() -> None:
    rng = np.random.default_rng(5)
    texts = [f"{v:.{d}f}" for v, d in zip(rng.lognormal(0, 6, 3000).tolist(),
                                          rng.integers(0, 16, 3000).tolist(), strict=True)]
    texts += [str(v) for v in rng.uniform(0, 1e6, 2000).tolist()] + [t for t in NUMBERS if t]
    body = ("value\n" + "\n".join(texts) + "\n").encode()
    plain = split_plain(body)
    assert plain is not None
    for value, text in zip(plain.numbers("value").tolist(), texts, strict=True):
        assert same_float(value, python_float(text)), text


@pytest.mark.parametrize("body", [
    b"", b"a,b\n", b"a,b", b'a,b\n"x",1\n', b"a,b\r\n1\r,2\r\n", b"a,b\r1,2\r", b"a\r\n1\r\n",
    b"a,b\n1,2\n\n3,4\n", b"a,b\r\n1,2\r\n\r\n3,4\r\n",
    b"a,b\n1,2,3\n", b"a,b\n1\n", b"a,a\n1,2\n", b"a,\n1,2\n", "a,b\né,1\n".encode(),
    b"a,b\n1,\t2\n", b"\na,b\n1,2\n"])
def test_other_files_are_left_to_pandas(body: bytes) -> None:
    assert split_plain(body) is None


def cohort_text(rows: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    lines = ["series_id, chemotherapy_start_date,date,value,unit,comparator"]
    for r in rng.permutation(rows).tolist():  # one day per series' row: no conflict
        i, d = r % (rows // 4), r // (rows // 4)
        value = str(rng.choice(["100", "5", "12.25", "3e2", " 7.5"])) if rng.random() < 0.1 \
            else f"{rng.lognormal(5, 1):.{int(rng.integers(0, 8))}f}"
        comparator = str(rng.choice(["", "", "", "<", ">="]))
        unit = str(rng.choice(["U/mL", "kU/L", " u/ml"]))
        lines.append(f"S{i},2026-01-05,2026-01-{5 + d:02d},{value},{unit},{comparator}")
    return "\n".join(lines) + "\n"


def read_both(body: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    def read() -> object:
        try:
            return kelim_csv.read_long_cohort(body, max_points_per_series=1000,
                                              today=date(2026, 11, 30))
        except Invalid as exc:
            return exc.detail, exc.extensions["errors"]
    plain = read()
    with monkeypatch.context() as patch:
        patch.setattr(kelim_csv, "split_plain", lambda body: None)
        frame = read()
    return plain, frame


@pytest.mark.parametrize(("seed", "line_end"), [(0, "\n"), (1, "\n"), (2, "\r\n"), (3, "\n")])
def test_a_cohort_reads_the_same_either_way(seed: int, line_end: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    body = cohort_text(600, seed).replace("\n", line_end).encode()
    assert split_plain(body) is not None
    plain, frame = read_both(body, monkeypatch)
    assert not isinstance(plain, tuple), plain
    assert plain.ids == frame.ids  # type: ignore[attr-defined]
    for name in ("series_index", "day", "value_u_ml", "censoring"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(frame, name))


def test_bad_cells_are_named_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    body = (b"series_id,chemotherapy_start_date,date,value,unit\n"
            b"A,2026-01-05,2026-01-05,100,U/mL\nA,2026-01-05,2026-02-30,x,IU\n"
            b",2026-13-05,2026-01-26, -4,U/mL\nB,2026-01-05,2027-01-05,1e9,U/mL\n")
    plain, frame = read_both(body, monkeypatch)
    assert isinstance(plain, tuple) and plain == frame
