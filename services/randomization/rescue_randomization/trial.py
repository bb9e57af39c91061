"""Trial set-up: the configuration in force and the secret seed, created on first use.

The seed comes from `secrets` (domain.csprng.new_seed) and is stored only in the trial row; the
audit trail records its SHA-256 as a commitment, so the seed revealed in the report after lock can
be checked against what was fixed before the first allocation.
"""

from __future__ import annotations

import hashlib

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_randomization import audit
from rescue_randomization.domain.csprng import new_seed
from rescue_randomization.domain.schemes import RandomizationConfig
from rescue_randomization.protocol import load_protocol
from rescue_randomization.tables import AuditHead, Trial
from rescue_shared.auth import Principal


def config_of(trial: Trial) -> RandomizationConfig:
    return RandomizationConfig.model_validate(trial.config)


def public_configuration(trial: Trial) -> dict[str, object]:
    """What the audit trail and the trial view may show: never the seed."""
    return {"protocol_version": trial.protocol_version, "number_prefix": trial.number_prefix,
            "randomization": trial.config, "seed_sha256": trial.seed_sha256}


async def lock_trial(
    session: AsyncSession, actor: Principal, protocol_version: str
) -> tuple[AuditHead, Trial]:
    """Lock the audit head, then read the trial, setting it up (audited) if this is first use."""
    head = await audit.lock_head(session)
    trial = (await session.exec(select(Trial).where(Trial.id == 1)
                                .execution_options(populate_existing=True))).first()
    if trial is None:
        protocol = load_protocol(protocol_version)
        seed = new_seed()
        trial = Trial(protocol_version=protocol.version, number_prefix=protocol.number_prefix,
                      config=protocol.randomization.model_dump(mode="json"), seed_hex=seed.hex(),
                      seed_sha256=hashlib.sha256(seed).hexdigest(), set_up_by=actor.sub)
        session.add(trial)
        audit.record(session, head, "trial_set_up", actor, public_configuration(trial))
    return head, trial
