"""What follow-up announces: `followup.progression_recorded` and `followup.subject_withdrawn`.

After every new record the subject's PFS is derived again from all current records (no cut-off)
and compared with what was last announced (stored on the subject):
- progression_recorded is emitted when an event is derived for the first time, and again only
  when its date or kind changes: a correction, or a record entered late that is dated before
  it (the event is the earliest one, so records dated after it never change it). If a
  correction removes the event altogether, nothing is emitted (the
  contract has no retraction; a warning is logged) and the announcement is forgotten, so that an
  event derived later is announced again.
- subject_withdrawn is emitted for a withdrawal (its date and reason) or a loss to follow-up
  (the last contact date, reason "lost_to_follow_up"), once, and again if a correction changes
  the date or reason.
Pure: the use case (`service_layer/assessments.py`) emits what this returns, in the transaction
that stores the record (docs/reliability.md § The guarantees).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rescue_followup.domain.model import Subject
from rescue_followup.domain.pfs import PfsResult
from rescue_followup.domain.records import StoredRecord, end_of_follow_up
from rescue_shared.contracts.events import ProgressionRecorded, SubjectWithdrawn

log = logging.getLogger(__name__)
LOST_TO_FOLLOW_UP = "lost_to_follow_up"
Announcement = ProgressionRecorded | SubjectWithdrawn


def changed_announcements(
    subject: Subject, current: Sequence[StoredRecord], pfs: PfsResult
) -> list[Announcement]:
    """What changed since the last announcements (to emit, in order); remembered on `subject`."""
    announcements: list[Announcement] = []
    if pfs.event and pfs.event_type is not None:
        derived = (pfs.end_date, pfs.event_type.value)
        if (subject.announced_event_date, subject.announced_event_kind) != derived:
            announcements.append(ProgressionRecorded(
                event_date=pfs.end_date, event_kind=pfs.event_type.value,
                randomization_date=subject.randomization_date, pfs_days=pfs.days))
            subject.announced_event_date, subject.announced_event_kind = derived
    elif subject.announced_event_date is not None:
        log.warning("a correction removed the PFS event of subject %s announced on %s (%s)",
                    subject.subject_id, subject.announced_event_date,
                    subject.announced_event_kind)
        subject.announced_event_date = subject.announced_event_kind = None

    end = end_of_follow_up(current)
    if end is not None:
        reason = (LOST_TO_FOLLOW_UP if end.type == "lost_to_followup"
                  else str(end.data["reason"]))
        if (subject.announced_withdrawal_date, subject.announced_withdrawal_reason) != (
                end.assessment_date, reason):
            announcements.append(SubjectWithdrawn(withdrawal_date=end.assessment_date,
                                                  reason=reason))
            subject.announced_withdrawal_date = end.assessment_date
            subject.announced_withdrawal_reason = reason
    return announcements
