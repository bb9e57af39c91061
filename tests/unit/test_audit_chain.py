"""The audit chain every service shares (rescue_shared.audit.chain): pure, no storage."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from rescue_shared.audit.chain import (
    GENESIS_HASH,
    Actor,
    AuditDraft,
    AuditEntry,
    AuditHead,
    canonical_json,
    chain_hash,
    entry_content,
    json_value,
    next_entry,
    verify_entries,
)
from rescue_shared.audit.trail import readable_sites
from rescue_shared.auth.tokens import Principal

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NURSE = Actor(sub="nurse-7", roles=("site_user",))


def draft(n: int) -> AuditDraft:
    return AuditDraft(action="ca125.corrected", actor=NURSE, site_id="S01", subject_id="S01-0001",
                      before={"value_u_ml": 100.0 + n}, after={"value_u_ml": 90.0 + n},
                      reason="transcription error on the report")


def chain(n: int) -> tuple[list[AuditEntry], AuditHead]:
    head, entries = AuditHead(), []
    for i in range(n):
        entry, head = next_entry(head, draft(i), occurred_at=AT + timedelta(seconds=i),
                                 correlation_id=f"corr-{i}")
        entries.append(entry)
    return entries, head


def test_each_entry_is_hashed_after_its_predecessor() -> None:
    entries, head = chain(3)
    assert [e.sequence for e in entries] == [0, 1, 2]
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert entries[1].hash == chain_hash(entries[0].hash, entry_content(entries[1]))
    assert head == AuditHead(entries=3, hash=entries[2].hash)
    assert entries[0].actor == "nurse-7" and entries[0].actor_roles == ["site_user"]
    assert entries[0].correlation_id == "corr-0" and entries[0].event_id is None


def test_a_consumer_entry_names_the_event() -> None:
    entry, _ = next_entry(AuditHead(), dataclasses.replace(
        draft(0), actor=Actor.consumer("3f1c0a4e-0000-4000-8000-000000000001")),
        occurred_at=AT, correlation_id=None)
    assert entry.actor == "system:consumer" and entry.actor_roles == []
    assert entry.event_id == "3f1c0a4e-0000-4000-8000-000000000001"


def test_a_valid_chain_verifies() -> None:
    entries, head = chain(4)
    result = verify_entries(entries, head)
    assert result.valid and result.entries == 4 and result.first_bad_entry is None
    assert verify_entries([], AuditHead()).valid


@pytest.mark.parametrize("change", [
    {"actor": "someone-else"}, {"reason": None}, {"after": {"value_u_ml": 9.0}},
    {"before": None}, {"occurred_at": AT + timedelta(days=1)}, {"site_id": "S02"},
    {"actor_roles": ["admin"]}, {"action": "ca125.recorded"}, {"event_id": "x"},
])
def test_an_edited_field_is_found_at_its_entry(change: dict[str, object]) -> None:
    entries, head = chain(4)
    entries[2] = dataclasses.replace(entries[2], **change)  # type: ignore[arg-type]
    result = verify_entries(entries, head)
    assert not result.valid and result.first_bad_entry == 2
    assert result.problem == "hash_mismatch" and result.entries == 2


def test_a_removed_or_reordered_entry_is_found() -> None:
    entries, head = chain(4)
    gap = verify_entries(entries[:1] + entries[2:], head)
    assert (gap.valid, gap.first_bad_entry, gap.problem) == (False, 1, "sequence_gap")
    swapped = verify_entries([entries[0], entries[2], entries[1], entries[3]], head)
    assert (swapped.first_bad_entry, swapped.problem) == (1, "sequence_gap")


def test_a_rehashed_entry_breaks_the_next_link() -> None:
    entries, head = chain(3)
    forged = dataclasses.replace(entries[1], actor="someone-else")
    entries[1] = dataclasses.replace(forged, hash=chain_hash(forged.prev_hash,
                                                             entry_content(forged)))
    result = verify_entries(entries, head)
    assert (result.first_bad_entry, result.problem) == (2, "broken_link")


def test_a_truncated_tail_is_found_by_the_head() -> None:
    entries, head = chain(5)
    result = verify_entries(entries[:3], head)
    assert not result.valid and result.entries == 3 and result.head_entries == 5
    assert (result.first_bad_entry, result.problem) == (3, "truncated")
    assert verify_entries([], head).problem == "truncated"


def test_a_replaced_tail_does_not_match_the_head() -> None:
    entries, head = chain(3)
    other, _ = next_entry(AuditHead(entries=2, hash=entries[1].hash), draft(9),
                          occurred_at=AT, correlation_id=None)
    result = verify_entries([*entries[:2], other], head)
    assert (result.valid, result.problem, result.first_bad_entry) == (False, "head_mismatch", 2)


def test_canonical_json_is_stable_and_stored_values_hash_the_same() -> None:
    seoul = timezone(timedelta(hours=9))
    value = {"b": 1, "a": datetime(2026, 3, 2, 18, 30, tzinfo=seoul), "c": [1.5, "é"]}
    assert canonical_json(value) == '{"a":"2026-03-02T09:30:00+00:00","b":1,"c":[1.5,"é"]}'
    stored = json_value(value)
    assert stored == {"a": "2026-03-02T09:30:00+00:00", "b": 1, "c": [1.5, "é"]}
    assert canonical_json(stored) == canonical_json(value)
    with pytest.raises(ValueError, match="naive"):
        canonical_json({"at": datetime(2026, 3, 2, 9, 30)})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"x": {1, 2}})


def test_admins_and_monitors_read_every_site_unless_the_token_names_theirs() -> None:
    admin = Principal(sub="a", site_id=None, roles=frozenset({"admin"}))
    monitor = Principal(sub="m", site_id=None, roles=frozenset({"monitor"}))
    assert readable_sites(admin) is None and readable_sites(monitor) is None

    @dataclasses.dataclass(frozen=True)
    class SiteMonitor(Principal):
        sites: frozenset[str] = frozenset()

    scoped = SiteMonitor(sub="m2", site_id=None, roles=frozenset({"monitor"}),
                         sites=frozenset({"S01", "S03"}))
    assert readable_sites(scoped) == frozenset({"S01", "S03"})
