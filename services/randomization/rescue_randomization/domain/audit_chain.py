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

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

GENESIS_HASH = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} is ambiguous; use a timezone-aware one")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | set | frozenset):
        raise TypeError("use lists for sequences (sets have no canonical order)")
    raise TypeError(f"cannot serialise {type(value).__name__} canonically")


def canonical_json(entry: Mapping[str, Any]) -> str:
    """The exact text that is hashed."""
    return json.dumps(
        entry,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_encode,
    )


def chain_hash(previous_hash: str, entry: Mapping[str, Any]) -> str:
    """Hash of `entry` linked to its predecessor (GENESIS_HASH for the first entry)."""
    if not _HEX64.fullmatch(previous_hash):
        raise ValueError("previous_hash must be 64 lowercase hex characters")
    return hashlib.sha256((previous_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


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
