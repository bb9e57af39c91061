"""Audit hash chain: canonical serialisation and detection of edits, deletions, reordering."""

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from rescue_randomization.domain.arms import Arm
from rescue_randomization.domain.audit_chain import (
    GENESIS_HASH,
    ChainedEntry,
    build_chain,
    canonical_json,
    chain_hash,
    verify_chain,
)


def contents(n: int = 6) -> list[dict]:
    return [
        {
            "sequence": i,
            "event": "randomization.assigned",
            "subject_id": f"S01-{i:03d}",
            "arm": Arm.SCS_CHEMO if i % 2 else Arm.CHEMO,
            "stratum": {"site": "S01", "pfi": ">12", "maintenance": "none"},
            "randomization_date": date(2025, 12, 15) + timedelta(days=i),
            "recorded_at": datetime(2025, 12, 15, 9, i, tzinfo=UTC),
            "request_id": uuid.UUID(int=i),
        }
        for i in range(n)
    ]


def test_genesis_and_known_vector() -> None:
    assert GENESIS_HASH == "0" * 64
    expected = hashlib.sha256(("0" * 64 + '{"a":1,"b":[true,null]}').encode()).hexdigest()
    assert chain_hash(GENESIS_HASH, {"b": [True, None], "a": 1}) == expected


def test_canonical_json_is_stable() -> None:
    kst = timezone(timedelta(hours=9))
    a = {"when": datetime(2025, 12, 15, 18, 30, tzinfo=kst), "day": date(2025, 12, 15), "z": "é"}
    b = {"z": "é", "day": "2025-12-15", "when": "2025-12-15T09:30:00+00:00"}
    assert (
        canonical_json(a)
        == canonical_json(b)
        == ('{"day":"2025-12-15","when":"2025-12-15T09:30:00+00:00","z":"é"}')
    )
    with pytest.raises(ValueError):
        canonical_json({"when": datetime(2025, 12, 15, 9, 30)})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(ValueError):
        chain_hash("abc", {})


def test_valid_chain_verifies() -> None:
    chain = build_chain(contents())
    assert chain[0].hash == chain_hash(GENESIS_HASH, chain[0].content)
    assert chain[1].hash == chain_hash(chain[0].hash, chain[1].content)
    result = verify_chain(chain, expected_head=chain[-1].hash)
    assert (result.valid, result.entries, result.first_bad_entry) == (True, 6, None)
    assert verify_chain([]).valid


@pytest.mark.parametrize("index", [0, 3, 5])
def test_edited_entry_detected_at_its_index(index: int) -> None:
    chain = build_chain(contents())
    edited = {**chain[index].content, "arm": Arm.SCS_CHEMO if index % 2 == 0 else Arm.CHEMO}
    chain[index] = ChainedEntry(edited, chain[index].hash)
    assert verify_chain(chain).first_bad_entry == index


def test_edit_with_rehashed_entry_detected_at_next_entry() -> None:
    chain = build_chain(contents())
    edited = {**chain[2].content, "subject_id": "forged"}
    chain[2] = ChainedEntry(edited, chain_hash(chain[1].hash, edited))
    result = verify_chain(chain)
    assert (result.valid, result.first_bad_entry) == (False, 3)


@pytest.mark.parametrize("index", [0, 2, 4])
def test_deleted_entry_detected(index: int) -> None:
    chain = build_chain(contents())
    del chain[index]
    assert verify_chain(chain).first_bad_entry == index


def test_truncated_tail_detected_with_expected_head() -> None:
    chain = build_chain(contents())
    head = chain[-1].hash
    result = verify_chain(chain[:-1], expected_head=head)
    assert (result.valid, result.entries, result.first_bad_entry) == (False, 5, 5)


@pytest.mark.parametrize(("i", "j"), [(1, 2), (0, 5)])
def test_reordering_detected(i: int, j: int) -> None:
    chain = build_chain(contents())
    chain[i], chain[j] = chain[j], chain[i]
    result = verify_chain(chain)
    assert (result.valid, result.first_bad_entry) == (False, i)


def test_unserialisable_content_is_reported_not_raised() -> None:
    chain = build_chain(contents(3))
    chain[1] = ChainedEntry({"bad": {1, 2}}, chain[1].hash)
    assert verify_chain(chain).first_bad_entry == 1
