"""Table cells as byte matrices, written out as rows in one pass (no string per cell).

A column is `Cells`: an (n x width) uint8 matrix holding each row's text with zero bytes
anywhere around it (left- or right-aligned alike), and each text's length. Putting the columns
and the separators side by side and deleting the zero bytes gives the rows: the matrix is read
in row order. A text holding a zero byte cannot be a cell (`text_cells` raises ValueError).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Cells = tuple[np.ndarray, np.ndarray]  # (chars: n x width uint8, 0 = no byte; lengths: n)


def text_cells(texts: Sequence[bytes]) -> Cells:
    """Cells of byte strings; ValueError if one holds a zero byte."""
    if b"\0" in b"".join(texts):
        raise ValueError("a text holds a zero byte")
    array = np.asarray(texts, dtype=bytes) if len(texts) else np.zeros(0, dtype="S1")
    chars = array.view(np.uint8).reshape(len(array), array.dtype.itemsize)
    return chars, np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))


def table_cells(table: Sequence[bytes], codes: np.ndarray) -> Cells:
    """Cells `table[code]` for each code (a few distinct texts: statuses, small counts)."""
    chars, lengths = text_cells(table)
    return chars[codes], lengths[codes]


@dataclass(frozen=True)
class Sparse:
    """A column empty but in a few rows (`rows` ascending): spliced in after the join."""

    rows: np.ndarray
    texts: list[bytes]


def join_rows(parts: Sequence[Cells | Sparse | bytes], rows: int) -> bytes:
    """The rows' bytes: each row the parts in order, a `bytes` part the same in every row."""
    chars, splices = [], []
    length = np.zeros(rows, dtype=np.int64)  # of each row so far
    for part in parts:
        if isinstance(part, Sparse):
            splices.append((length[part.rows], part.texts, part.rows))
        elif isinstance(part, bytes):
            chars.append(np.broadcast_to(np.frombuffer(part, dtype=np.uint8), (rows, len(part))))
            length += len(part)
        else:
            chars.append(part[0])
            length += part[1]
    text: bytes = np.concatenate(chars, axis=1).tobytes().translate(None, b"\0")
    if not any(len(texts) for _, texts, _ in splices):
        return text
    row_start = np.cumsum(length) - length
    at: list[tuple[int, bytes]] = []
    for offset, texts, where in splices:
        at += zip((row_start[where] + offset).tolist(), texts, strict=True)
    pieces, done = [], 0
    for position, piece in sorted(at, key=lambda item: item[0]):  # stable: parts in order
        pieces += [text[done:position], piece]
        done = position
    return b"".join([*pieces, text[done:]])
