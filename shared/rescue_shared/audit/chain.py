"""The hash chain of an audit trail: pure functions, no storage.

hash_n = SHA-256(hash_{n-1} || canonical_json(content_n)) in lowercase hex, hash_{-1} = 64 zeros
(the formula randomization's trail uses). The content is every stored field of the entry but
`prev_hash` and `hash`, so editing any of them breaks its link; the sequence is in the content and
must run 0, 1, 2... without gaps, so deleting or reordering entries breaks it too. Deleting the
tail leaves a valid prefix: the head (entry count and last hash, stored apart and moved in the same
transaction as every append) then no longer matches, which `verify_entries` reports as truncation.

Canonical JSON: sorted keys, no whitespace, UTF-8, no NaN/Infinity; datetimes timezone-aware and
written in UTC; dates ISO 8601; UUIDs and Decimals as strings; enums as their values. `before` and
`after` are stored as their canonical JSON values (`json_value`), so what is read back from the
database hashes the same as what was written.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

GENESIS_HASH = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Actor of the changes a service's event consumer applies (the entry names the event id).
SYSTEM_CONSUMER = "system:consumer"


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


def canonical_json(value: Any) -> str:
    """The exact text that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_encode)


def json_value(value: Any) -> Any:
    """`value` as plain JSON (dicts, lists, str, numbers, bools, None), as it will be stored."""
    return None if value is None else json.loads(canonical_json(value))


def chain_hash(previous_hash: str, content: Mapping[str, Any]) -> str:
    """Hash of `content` linked to its predecessor's hash (GENESIS_HASH for the first entry)."""
    if not _HEX64.fullmatch(previous_hash):
        raise ValueError("previous_hash must be 64 lowercase hex characters")
    return hashlib.sha256((previous_hash + canonical_json(content)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who made a change: a user (token subject and roles) or the service's event consumer."""

    sub: str
    roles: tuple[str, ...] = ()
    event_id: str | None = None  # the event applied, when the consumer made the change

    @classmethod
    def consumer(cls, event_id: str | None) -> Actor:
        return cls(sub=SYSTEM_CONSUMER, event_id=event_id)


@dataclass(frozen=True)
class AuditDraft:
    """A change as a use case records it; it becomes an entry when its transaction commits."""

    action: str  # what happened, "<record>.<past participle>": `ca125.corrected`
    actor: Actor
    site_id: str | None
    subject_id: str | None
    before: Any = None  # the changed record before (None: created)
    after: Any = None  # and after (None: removed)
    reason: str | None = None  # why, for corrections and refusals


@dataclass(frozen=True)
class AuditHead:
    """The chain's head: how many entries it has and the hash of the last one."""

    entries: int = 0
    hash: str = GENESIS_HASH


@dataclass(frozen=True)
class AuditEntry:
    sequence: int
    occurred_at: datetime
    action: str
    actor: str
    actor_roles: list[str]
    site_id: str | None
    subject_id: str | None
    reason: str | None
    before: Any
    after: Any
    correlation_id: str | None
    event_id: str | None
    prev_hash: str
    hash: str = field(default="")


def entry_content(entry: AuditEntry) -> dict[str, Any]:
    """What the entry's hash covers: every field but `prev_hash` and `hash`."""
    return {
        "sequence": entry.sequence, "occurred_at": entry.occurred_at, "action": entry.action,
        "actor": entry.actor, "actor_roles": list(entry.actor_roles), "site_id": entry.site_id,
        "subject_id": entry.subject_id, "reason": entry.reason, "before": entry.before,
        "after": entry.after, "correlation_id": entry.correlation_id,
        "event_id": entry.event_id,
    }


def next_entry(head: AuditHead, draft: AuditDraft, *, occurred_at: datetime,
               correlation_id: str | None) -> tuple[AuditEntry, AuditHead]:
    """The entry that follows `head`, hashed, and the head after it."""
    entry = AuditEntry(
        sequence=head.entries, occurred_at=occurred_at.astimezone(UTC), action=draft.action,
        actor=draft.actor.sub, actor_roles=sorted(draft.actor.roles), site_id=draft.site_id,
        subject_id=draft.subject_id, reason=draft.reason, before=json_value(draft.before),
        after=json_value(draft.after), correlation_id=correlation_id,
        event_id=draft.actor.event_id, prev_hash=head.hash)
    entry = replace(entry, hash=chain_hash(head.hash, entry_content(entry)))
    return entry, AuditHead(entries=head.entries + 1, hash=entry.hash)


Problem = Literal["hash_mismatch", "broken_link", "sequence_gap", "truncated", "head_mismatch"]


@dataclass(frozen=True)
class Verification:
    """`first_bad_entry`: the sequence of the first entry that fails (for `truncated`, the first
    missing one: the number of entries found); None when the chain is valid."""

    valid: bool
    entries: int  # entries checked
    head_entries: int
    head_hash: str
    first_bad_entry: int | None = None
    problem: Problem | None = None


class ChainCheck:
    """Recomputes the chain entry by entry (so a long trail can be read in pages)."""

    def __init__(self, head: AuditHead) -> None:
        self._head = head
        self._previous = GENESIS_HASH
        self.checked = 0
        self.failure: tuple[int, Problem] | None = None

    def feed(self, entry: AuditEntry) -> bool:
        """Check the next entry in sequence order; False once the chain is broken."""
        if self.failure is not None:
            return False
        expected = self.checked
        if entry.sequence != expected:
            self.failure = (expected, "sequence_gap")
        elif entry.prev_hash != self._previous:
            self.failure = (expected, "broken_link")
        else:
            try:
                ok = chain_hash(self._previous, entry_content(entry)) == entry.hash
            except (TypeError, ValueError):
                ok = False
            if not ok:
                self.failure = (expected, "hash_mismatch")
        if self.failure is not None:
            return False
        self._previous = entry.hash
        self.checked += 1
        return True

    def result(self) -> Verification:
        head = self._head
        if self.failure is None and self.checked < head.entries:
            self.failure = (self.checked, "truncated")
        elif self.failure is None and self._previous != head.hash:
            # As many entries as the head says, but not the ones it names (tail rewritten).
            self.failure = (max(self.checked - 1, 0), "head_mismatch")
        if self.failure is None:
            return Verification(True, self.checked, head.entries, head.hash)
        sequence, problem = self.failure
        return Verification(False, self.checked, head.entries, head.hash, sequence, problem)


def verify_entries(entries: Iterable[AuditEntry], head: AuditHead) -> Verification:
    """Recompute every link in sequence order and compare the end with the head."""
    check = ChainCheck(head)
    for entry in entries:
        if not check.feed(entry):
            break
    return check.result()
