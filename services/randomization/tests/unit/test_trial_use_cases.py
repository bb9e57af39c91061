"""Trial set-up, configuration, lock, seed report, balance and candidate status on the in-memory
unit of work (docs/protocol/randomization.md)."""

from __future__ import annotations

import hashlib

import pytest
from randomization_fakes import (
    ADMIN,
    INVESTIGATOR,
    SITE_USER,
    FakeRandomizationUnitOfWork,
    FakeStore,
    allocate,
    entries,
    make_eligible,
)

from rescue_randomization.domain.schemes import BigStickConfig, MinimizationConfig
from rescue_randomization.domain.strata import CategoricalFactor, StrataConfig
from rescue_randomization.service_layer import allocations, trial
from rescue_randomization.service_layer.balance import balance
from rescue_randomization.service_layer.candidates import candidate_status
from rescue_shared.errors import Conflict, Invalid, NotFound
from rescue_shared.protocols import ProtocolFileError

TRIAL = "NCT07295132"


async def test_the_trial_is_set_up_once_from_the_protocol_file_with_a_committed_seed() -> None:
    store = FakeStore()
    first = await trial.get_trial(FakeRandomizationUnitOfWork(store), ADMIN,
                                  protocol_version="1", trial_id=TRIAL)
    again = await trial.get_trial(FakeRandomizationUnitOfWork(store), ADMIN,
                                  protocol_version="1", trial_id=TRIAL)
    assert first == again and first.scheme == "permuted_blocks" and first.protocol_version == "1"
    record = await FakeRandomizationUnitOfWork(store).trials.get()
    assert record is not None and len(bytes.fromhex(record.seed_hex)) >= 32
    assert hashlib.sha256(bytes.fromhex(record.seed_hex)).hexdigest() == first.seed_sha256
    [set_up] = await entries(store)
    assert set_up.entry_type == "trial_set_up" and "seed_hex" not in str(set_up.details)
    assert set_up.details["seed_sha256"] == first.seed_sha256


async def test_a_missing_protocol_version_fails_at_set_up_only() -> None:
    store = FakeStore()
    with pytest.raises(ProtocolFileError, match=r"randomization-v9\.yaml"):
        await trial.get_trial(FakeRandomizationUnitOfWork(store), ADMIN, protocol_version="9",
                              trial_id=TRIAL)
    await trial.get_trial(FakeRandomizationUnitOfWork(store), ADMIN, protocol_version="1",
                          trial_id=TRIAL)
    view = await trial.get_trial(FakeRandomizationUnitOfWork(store), ADMIN,
                                 protocol_version="9", trial_id=TRIAL)
    assert view.protocol_version == "1"  # the trial keeps what it was set up with


async def test_the_scheme_changes_before_the_first_allocation_only() -> None:
    store = FakeStore()
    view = await trial.configure(FakeRandomizationUnitOfWork(store), ADMIN,
                                 scheme=BigStickConfig(max_imbalance=2), strata=None,
                                 protocol_version="1", trial_id=TRIAL)
    assert view.scheme == "big_stick"
    change = (await entries(store))[-1]
    assert change.entry_type == "configuration_change"
    assert change.details["before"]["randomization"]["scheme"]["scheme"] == "permuted_blocks"

    await make_eligible(store, "S01-0001")
    await allocate(store, "S01-0001")
    with pytest.raises(Conflict) as refused:
        await trial.configure(FakeRandomizationUnitOfWork(store), ADMIN,
                              scheme=BigStickConfig(), strata=None, protocol_version="1",
                              trial_id=TRIAL)
    assert refused.value.title == "Allocations exist"
    assert (await entries(store))[-1].details["action"] == "configuration_change"


async def test_a_configuration_inconsistent_with_the_strata_is_invalid() -> None:
    store = FakeStore()
    with pytest.raises(Invalid) as refused:
        await trial.configure(
            FakeRandomizationUnitOfWork(store), ADMIN,
            scheme=MinimizationConfig(factors=("site", "pfi")),
            strata=StrataConfig(factors=(CategoricalFactor(name="site", source="site_id"),)),
            protocol_version="1", trial_id=TRIAL)
    assert refused.value.detail == "invalid configuration"
    assert refused.value.extensions["errors"]


async def test_lock_then_the_seed_report_reproduces_every_allocation() -> None:
    store = FakeStore()
    for n in range(1, 4):
        await make_eligible(store, f"S01-000{n}")
        await allocate(store, f"S01-000{n}")
    await allocations.invalidate(FakeRandomizationUnitOfWork(store), INVESTIGATOR,
                                 subject_id="S01-0002", reason="randomized in plain error",
                                 protocol_version="1")
    with pytest.raises(Conflict, match="only after the trial is locked"):
        await trial.seed_report(FakeRandomizationUnitOfWork(store), ADMIN,
                                protocol_version="1", trial_id=TRIAL)

    locked = await trial.lock(FakeRandomizationUnitOfWork(store), ADMIN, protocol_version="1",
                              trial_id=TRIAL)
    report = await trial.seed_report(FakeRandomizationUnitOfWork(store), ADMIN,
                                     protocol_version="1", trial_id=TRIAL)

    assert locked.locked and locked.allocations == 3
    assert report.reproduced and report.mismatches == [] and report.allocations == 3
    assert [r.invalidated for r in report.replay] == [False, True, False]
    [stratum] = report.strata
    assert stratum.slots_used == 3 and stratum.generated == [r.arm for r in report.replay]
    with pytest.raises(Conflict) as again:
        await trial.lock(FakeRandomizationUnitOfWork(store), ADMIN, protocol_version="1",
                         trial_id=TRIAL)
    assert again.value.title == "Already locked"
    types = [e.entry_type for e in await entries(store)]
    assert types[-3:] == ["trial_lock", "export", "refusal"]


async def test_balance_counts_every_allocation_and_the_valid_ones() -> None:
    store = FakeStore()
    empty = await balance(FakeRandomizationUnitOfWork(store), protocol_version="1")
    assert empty.allocated.total == 0 and empty.strata == [] and empty.scheme == "permuted_blocks"
    for n in range(1, 3):
        await make_eligible(store, f"S01-000{n}")
        await allocate(store, f"S01-000{n}")
    await allocations.invalidate(FakeRandomizationUnitOfWork(store), INVESTIGATOR,
                                 subject_id="S01-0001", reason="randomized in plain error",
                                 protocol_version="1")
    result = await balance(FakeRandomizationUnitOfWork(store), protocol_version="1")
    assert result.allocated.total == 2 and result.valid.total == 1 and result.invalidated == 1
    [stratum] = result.strata
    assert stratum.imbalance == stratum.allocated.SCS_CHEMO - stratum.allocated.CHEMO


async def test_a_candidate_is_seen_by_her_site_and_says_what_she_misses() -> None:
    store = FakeStore()
    await make_eligible(store, "S01-0001")
    status = await candidate_status(FakeRandomizationUnitOfWork(store), SITE_USER, "S01-0001",
                                    protocol_version="1")
    assert status.randomizable and status.unmet_conditions == []
    assert status.platinum_free_interval_months == 14.0
    await allocate(store, "S01-0001")
    status = await candidate_status(FakeRandomizationUnitOfWork(store), ADMIN, "S01-0001",
                                    protocol_version="1")
    assert status.randomized and not status.randomizable
    other = SITE_USER.__class__(sub="x", site_id="S02", roles=frozenset({"site_user"}))
    with pytest.raises(NotFound, match="subject S01-0001 not found"):
        await candidate_status(FakeRandomizationUnitOfWork(store), other, "S01-0001",
                               protocol_version="1")
