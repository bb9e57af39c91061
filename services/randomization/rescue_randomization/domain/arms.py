"""Treatment arms of RESCUE and their canonical order.

The canonical order fixes how blocks are composed before shuffling and how ties are broken, so it
is part of what makes a seeded allocation list reproducible: never reorder `ARMS`.
"""

from __future__ import annotations

from enum import StrEnum


class Arm(StrEnum):
    """An arm; values equal the `Arm` literal of the shared event contracts."""

    SCS_CHEMO = "SCS_CHEMO"  # experimental: secondary cytoreductive surgery, then chemotherapy
    CHEMO = "CHEMO"  # active comparator: chemotherapy only


EXPERIMENTAL = Arm.SCS_CHEMO
COMPARATOR = Arm.CHEMO
ARMS: tuple[Arm, ...] = (Arm.SCS_CHEMO, Arm.CHEMO)
"""Canonical arm order. Allocation ratio is 1:1 (one of each arm per ratio unit)."""


def other_arm(arm: Arm) -> Arm:
    """The opposite arm of a two-arm trial."""
    return COMPARATOR if arm is EXPERIMENTAL else EXPERIMENTAL
