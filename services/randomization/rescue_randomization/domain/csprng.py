"""Deterministic cryptographically strong random streams derived from a trial seed.

Why not `random`: the Mersenne Twister is predictable from its output, so anyone who sees a few
allocations could foresee the next ones. HMAC-SHA256 in counter mode (key = the secret seed,
message = a length-prefixed context + counter) is a PRF: outputs are unpredictable without the
seed, yet a statistician holding the seed regenerates exactly the same numbers. Each context
(e.g. scheme label, stratum key, block number) gets an independent stream, so a value depends only
on its own context, never on how many other values were drawn before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

MIN_SEED_BYTES = 32
_WORD = 8  # bytes per integer draw
_WORD_SPACE = 1 << (8 * _WORD)


def new_seed() -> bytes:
    """A fresh trial seed, produced once at trial set-up and kept secret by the caller."""
    return secrets.token_bytes(MIN_SEED_BYTES)


def _encode_context(parts: tuple[str | int, ...]) -> bytes:
    """Length-prefix each part so that ("ab", "c") and ("a", "bc") never collide."""
    out = bytearray()
    for part in parts:
        raw = f"i:{part}" if isinstance(part, int) else f"s:{part}"
        data = raw.encode("utf-8")
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


class DeterministicStream:
    """Unbounded byte stream: block i = HMAC-SHA256(seed, context || i), i = 0, 1, ..."""

    def __init__(self, seed: bytes, *context: str | int) -> None:
        if not isinstance(seed, bytes | bytearray) or len(seed) < MIN_SEED_BYTES:
            raise ValueError(f"seed must be at least {MIN_SEED_BYTES} bytes")
        self._key = bytes(seed)
        self._context = _encode_context(context)
        self._counter = 0
        self._buffer = b""

    def read(self, n: int) -> bytes:
        """The next `n` bytes of the stream."""
        while len(self._buffer) < n:
            message = self._context + self._counter.to_bytes(8, "big")
            self._buffer += hmac.new(self._key, message, hashlib.sha256).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def randbelow(self, n: int) -> int:
        """Uniform integer in [0, n), by rejection sampling so there is no modulo bias."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = _WORD_SPACE - (_WORD_SPACE % n)
        while True:
            value = int.from_bytes(self.read(_WORD), "big")
            if value < limit:
                return value % n

    def random(self) -> float:
        """Uniform float in [0, 1) with 53 random bits (the full precision of a float)."""
        return (int.from_bytes(self.read(_WORD), "big") >> 11) / float(1 << 53)


def seeded_uniform(seed: bytes, sequence_number: int, label: str = "coin") -> Callable[[], float]:
    """A reproducible `uniform()` for the allocation with this trial-wide sequence number.

    Lets minimization and big-stick coin draws be replayed from (seed, sequence number) alone.
    """
    stream = DeterministicStream(seed, "rescue.randomization.uniform.v1", label, sequence_number)
    return stream.random


def system_uniform() -> Callable[[], float]:
    """Non-reproducible `uniform()` backed by the operating system's CSPRNG."""
    return secrets.SystemRandom().random
