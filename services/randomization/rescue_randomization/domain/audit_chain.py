"""Tamper-evident audit trail: each entry's hash covers the previous hash and its own content.

hash_i = SHA-256(hash_{i-1} || canonical_json(content_i)) as lowercase hex; hash_{-1} = 64 zeros.
Editing, deleting or reordering any entry breaks every later link, so `verify_chain` reports the
first entry whose stored hash no longer matches. Truncating the tail leaves a valid prefix: detect
it by comparing against an independently kept head hash (`expected_head`).

Canonical JSON: sorted keys, no whitespace, UTF-8 (not ASCII-escaped), no NaN/Infinity; dates as
ISO 8601; datetimes must be timezone-aware and are written in UTC ("2025-12-15T09:30:00+00:00"), so
an entry re-read from storage as a string hashes the same as the original datetime; UUIDs and
Decimals as strings; enums as their values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# One canonical JSON and one hash for every service's trail (rescue_shared.audit.chain).
from rescue_shared.audit.chain import GENESIS_HASH, canonical_json, chain_hash

__all__ = ["GENESIS_HASH", "ChainedEntry", "VerificationResult", "append", "build_chain",
           "canonical_json", "chain_hash", "verify_chain"]


@dataclass(frozen=True)
class ChainedEntry:
    """An audit entry as stored: its content and the hash stored alongside it."""

    content: Mapping[str, Any]
    hash: str


@dataclass(frozen=True)
class VerificationResult:
    """`first_bad_entry` is the 0-based index of the first mismatching entry (None if valid);
    it equals `entries` when only the expected head is missing (truncated chain)."""

    valid: bool
    entries: int
    first_bad_entry: int | None


def append(previous_hash: str, content: Mapping[str, Any]) -> ChainedEntry:
    """The stored form of a new entry."""
    return ChainedEntry(content=content, hash=chain_hash(previous_hash, content))


def build_chain(
    contents: Iterable[Mapping[str, Any]], genesis: str = GENESIS_HASH
) -> list[ChainedEntry]:
    """Chain several contents from `genesis` (tests, migrations, exports)."""
    chain: list[ChainedEntry] = []
    previous = genesis
    for content in contents:
        chain.append(append(previous, content))
        previous = chain[-1].hash
    return chain


def verify_chain(
    entries: Sequence[ChainedEntry], genesis: str = GENESIS_HASH, expected_head: str | None = None
) -> VerificationResult:
    """Recompute every link in storage order; stop at the first mismatch."""
    previous = genesis
    for index, entry in enumerate(entries):
        try:
            ok = chain_hash(previous, entry.content) == entry.hash
        except (TypeError, ValueError):
            ok = False
        if not ok:
            return VerificationResult(False, len(entries), index)
        previous = entry.hash
    if expected_head is not None and previous != expected_head:
        return VerificationResult(False, len(entries), len(entries))
    return VerificationResult(True, len(entries), None)
