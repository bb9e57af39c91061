"""Trial set-up: the configuration in force and the secret seed, created on first use.

The seed comes from `secrets` (domain.csprng.new_seed) and is stored only in the trial record;
the audit trail records its SHA-256 as a commitment, so the seed revealed in the report after lock
can be checked against what was fixed before the first allocation
(docs/protocol/randomization.md, "Concealment and reproducibility").
"""

from __future__ import annotations

import hashlib

from rescue_randomization.domain.csprng import new_seed
from rescue_randomization.domain.records import AuditHeadRecord, TrialRecord
from rescue_randomization.domain.schemes import RandomizationConfig
from rescue_randomization.service_layer import audit
from rescue_randomization.service_layer.clock import now
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_shared.auth.tokens import Principal


def config_of(trial: TrialRecord) -> RandomizationConfig:
    return RandomizationConfig.model_validate(trial.config)


def public_configuration(trial: TrialRecord) -> dict[str, object]:
    """What the audit trail and the trial view may show: never the seed."""
    return {"protocol_version": trial.protocol_version, "number_prefix": trial.number_prefix,
            "randomization": trial.config, "seed_sha256": trial.seed_sha256}


async def lock_trial(
    uow: RandomizationUnitOfWork, actor: Principal, protocol_version: str
) -> tuple[AuditHeadRecord, TrialRecord]:
    """Lock the audit head, then read the trial, setting it up (audited) if this is first use.

    Every writer calls it (or `uow.audit.lock_head()`) first: everything read afterwards is
    current, and the head is appended to under the lock.
    """
    head = await uow.audit.lock_head()
    trial = await uow.trials.get()
    if trial is None:
        protocol = uow.protocols.load(protocol_version)
        seed, at = new_seed(), now()
        trial = TrialRecord(
            protocol_version=protocol.version, number_prefix=protocol.number_prefix,
            config=protocol.randomization.model_dump(mode="json"), seed_hex=seed.hex(),
            seed_sha256=hashlib.sha256(seed).hexdigest(), set_up_at=at, set_up_by=actor.sub,
            configured_at=at)
        await uow.trials.add(trial)
        await audit.record(uow, head, "trial_set_up", actor, public_configuration(trial))
    return head, trial


async def configuration_in_force(uow: RandomizationUnitOfWork,
                                 protocol_version: str) -> RandomizationConfig:
    """The trial's configuration; before set-up, the protocol file's (nothing is written)."""
    trial = await uow.trials.get()
    return config_of(trial) if trial else uow.protocols.load(protocol_version).randomization
