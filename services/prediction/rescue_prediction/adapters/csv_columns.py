"""A plain CSV file split into columns with numpy: no Python object per cell.

pandas' reader makes a Python string per cell (five per measurement), which costs more than the
whole KELIM fit. A *plain* file - printable ASCII, no quotes, lines ending '\n' or '\r\n', no
blank lines, every row with the header's field count and distinct header names - is split on its
separator positions in a few array operations instead: a text column becomes codes into its
distinct values, a number column floats. Anything else is not plain (`split_plain` gives None)
and is read by pandas, so the rules of the CSV format stay pandas' own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    import pandas as pd

# Each byte's class: 0 a cell's (or the '\r' of a '\r\n' line end), 1 a separator, 2 not
# plain (quote, other control bytes, DEL, non-ASCII).
_CLASS = bytes(1 if b in b",\n" else 0 if (32 <= b < 127 and b != ord('"')) or b == 13 else 2
               for b in range(256))
_ZERO, _DOT = 48, 46
# A decimal of at most 15 digits is an integer M < 2**53 over 10**k (k <= 22), both exact
# doubles, so one IEEE division gives the correctly rounded value: Python's float(text).
_MAX_DIGITS = 15
_NUMBER_WIDTH = _MAX_DIGITS + 1  # digits and one '.'
_POW10 = np.array([float(10**i) for i in range(_NUMBER_WIDTH)])
_WORD = 8  # text compared 8 bytes (one uint64) at a time
_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(_WORD)] + [2**64 - 1], dtype=np.uint64)
_PAD = bytes(_NUMBER_WIDTH + _WORD)


@dataclass(frozen=True)
class PlainCsv:  # the same methods as `FrameColumns`
    """The columns of a plain CSV file: `names` from the header (stripped), `starts`/`ends` the
    byte offsets of each cell (one row per data line, one column per name) in `data`, the
    file ending with a newline and zero bytes."""

    data: bytes
    names: list[str]
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def _cells(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        j = self.names.index(name)
        return self.starts[:, j], self.ends[:, j]

    def _bytes_from(self, start: np.ndarray, width: int) -> np.ndarray:
        """Row i = the `width` bytes from offset start[i] (a view, then one gather)."""
        data = np.frombuffer(self.data, dtype=np.uint8)
        windows: np.ndarray = sliding_window_view(data, width)[start]
        return windows

    def _words(self, start: np.ndarray, length: np.ndarray) -> np.ndarray:
        """The first 8 bytes of each cell as one little-endian integer, later bytes zeroed."""
        # One uint64 starting at every byte: unaligned, which numpy reads correctly.
        unaligned = np.ndarray((len(self.data) - _WORD + 1,), dtype="<u8", buffer=self.data,
                               strides=(1,))
        words: np.ndarray = unaligned[start] & _KEEP[np.clip(length, 0, _WORD)]
        return words

    def text(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Codes (int64, one per row) into the distinct cells, in order of first appearance."""
        import pandas as pd  # its hash table factorises integers fast

        start, end = self._cells(name)
        length = end - start
        codes = pd.factorize(self._words(start, length), sort=False)[0]
        for offset in range(_WORD, int(length.max(initial=0)), _WORD):  # longer texts
            part = pd.factorize(self._words(start + offset, length - offset), sort=False)[0]
            codes = pd.factorize(codes * (int(part.max(initial=0)) + 1) + part, sort=False)[0]
        # Codes number the cells in order of first appearance: a row whose code exceeds all
        # before it is its value's first row.
        new = np.ones(len(codes), dtype=bool)
        new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
        first = np.flatnonzero(new)
        return codes.astype(np.int64), self._decoded(start[first], end[first])

    def _decoded(self, start: np.ndarray, end: np.ndarray) -> list[str]:
        """The cells [start, end) as strings, decoded at once: each cell and the byte after
        it, made a ',', then split on ',' (a plain cell holds none)."""
        size = end - start + 1
        offsets = np.cumsum(size) - size
        at = np.repeat(start - offsets, size) + np.arange(int(size.sum()))
        chars = np.frombuffer(self.data, dtype=np.uint8)[at]
        chars[offsets + size - 1] = ord(",")
        return chars.tobytes().decode("ascii").split(",")[:-1]

    def numbers(self, name: str) -> np.ndarray:
        """Floats as Python's float(text) reads each cell, NaN where it does not. Plain decimals
        (digits and at most one '.') are converted as arrays, any other cell one by one."""
        start, end = self._cells(name)
        length = end - start
        width = min(_NUMBER_WIDTH, int(length.max(initial=0)))
        chars = np.ascontiguousarray(self._bytes_from(start, _NUMBER_WIDTH)[:, :width].T)
        mantissa = np.zeros(len(start), dtype=np.int64)
        n_digits = np.zeros(len(start), dtype=np.int64)
        decimals = np.zeros(len(start), dtype=np.int64)
        n_dots = np.zeros(len(start), dtype=np.int64)
        other = length > _NUMBER_WIDTH
        for column in range(width):  # Horner's scheme, one character position at a time
            inside = column < length
            digit = chars[column] - _ZERO
            is_digit = inside & (digit < 10)  # uint8: bytes below '0' wrap around
            dot = inside & (chars[column] == _DOT)
            mantissa = np.where(is_digit, mantissa * 10 + digit, mantissa)
            n_digits += is_digit
            decimals += is_digit & (n_dots > 0)
            n_dots += dot
            other |= inside & ~is_digit & ~dot
        plain = ~other & (n_dots <= 1) & (n_digits >= 1) & (n_digits <= _MAX_DIGITS)
        values: np.ndarray = mantissa.astype(float) / _POW10[np.where(plain, decimals, 0)]
        data = self.data
        for i in np.flatnonzero(~plain).tolist():
            try:
                values[i] = float(data[start[i]:end[i]].decode("ascii"))
            except ValueError:
                values[i] = np.nan
        return values


def split_plain(body: bytes) -> PlainCsv | None:
    """The file's columns if it is plain (see the module), else None."""
    classes = body.translate(_CLASS)
    if not body or b"\x02" in classes or body[0] == ord("\n"):
        return None
    header_end = body.find(b"\n")
    if header_end < 0 or header_end == len(body) - 1:
        return None  # no data line: pandas says what is missing
    names = body[:header_end].decode("ascii").split(",")
    if len(names) == 1 and (b"\n\n" in body or b"\r" in body):
        return None  # maybe a blank line (pandas skips it); with more columns, a short row
    crlf = b"\r" in body
    if crlf and body.count(b"\r") != body.count(b"\r\n"):
        return None  # a '\r' alone ends a line for pandas
    stripped = [n.strip() for n in names]
    if "" in stripped or len(set(stripped)) < len(stripped):
        return None  # pandas renames these: its names are the ones reported
    ending = b"" if body.endswith(b"\n") else b"\n"
    data = body + ending + _PAD
    separators = np.flatnonzero(np.frombuffer(classes, dtype=np.bool_))  # classes 0 and 1 here
    if ending:
        separators = np.append(separators, len(body))
    width = len(names)
    separators = separators[width:]  # the header's
    if separators.size % width:
        return None
    ends = separators.reshape(-1, width)
    kind = np.frombuffer(data, dtype=np.uint8)
    if np.any(kind[ends[:, -1]] != ord("\n")) or np.any(kind[ends[:, :-1]] != ord(",")):
        return None  # a row with another field count
    starts = np.empty_like(ends)
    starts[:, 1:] = ends[:, :-1] + 1
    starts[:, 0] = np.concatenate(([header_end + 1], ends[:-1, -1] + 1))
    if crlf:  # the last cell of a '\r\n' line ends before the '\r'
        ends[:, -1] -= kind[ends[:, -1] - 1] == ord("\r")
    return PlainCsv(data=data, names=stripped, starts=starts, ends=ends)


class FrameColumns:
    """The columns of a file pandas read as text (any CSV it accepts): `PlainCsv`'s methods."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.names = [str(c).strip() for c in frame.columns]
        frame.columns = self.names

    def __len__(self) -> int:
        return len(self.frame)

    def text(self, name: str) -> tuple[np.ndarray, list[str]]:
        import pandas as pd

        codes, uniques = pd.factorize(self.frame[name], sort=False)
        return codes.astype(np.int64), [str(u) for u in uniques]

    def numbers(self, name: str) -> np.ndarray:
        """Floats, NaN where the text is not a number (C conversion; per cell only on failure)."""
        import pandas as pd

        column = self.frame[name]
        try:
            return np.asarray(column.to_numpy(dtype=object).astype(float))
        except ValueError:
            return np.asarray(pd.to_numeric(column.str.strip(), errors="coerce"), dtype=float)
