"""The randomization list as CSV (the audited export of `GET /v1/randomizations`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from rescue_randomization.service_layer.views import RandomizationView

CSV_COLUMNS = ("randomization_number", "subject_id", "site_id", "arm", "stratum",
               "allocated_at", "randomization_date", "scheme", "status", "invalidated_at",
               "invalidation_reason")


def randomizations_csv(views: Iterable[RandomizationView]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in views:
        inv = v.invalidation
        writer.writerow([v.randomization_number, v.subject_id, v.site_id, v.arm,
                         "|".join(f"{k}={x}" for k, x in v.stratum.items()),
                         v.allocated_at.isoformat(), v.randomization_date.isoformat(),
                         v.scheme, v.status,
                         inv.invalidated_at.isoformat() if inv else "", inv.reason if inv else ""])
    return buffer.getvalue()
