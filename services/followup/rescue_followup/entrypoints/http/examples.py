"""What integrators see in the OpenAPI document: a request the service accepts, per operation,
and the rules it enforces beyond the document's JSON Schema (tests post every example)."""

from __future__ import annotations

from rescue_shared.http.openapi import RequestExample
from rescue_shared.queries.http import QUERY_EXAMPLES, QUERY_RULES

# A frozen data cut in ADaM ADTTE form (AVAL = ADT - STARTDT + 1), both arms represented.
ADTTE_CSV = """\
USUBJID,ARM,STRATA,PARAMCD,STARTDT,ADT,AVAL,CNSR,EVNTDESC,CNSDTDSC,INVALFL
S01-0001,SCS_CHEMO,S01|>12|parp_inhibitor,PFS,2025-01-10,2025-10-06,270,0,Disease Progression,,N
S01-0002,CHEMO,S01|>12|parp_inhibitor,PFS,2025-01-14,2025-07-01,169,0,Disease Progression,,N
S02-0001,SCS_CHEMO,S02|6-12|none,PFS,2025-02-03,2026-02-02,365,1,,Last Tumor Assessment,N
S02-0002,CHEMO,S02|6-12|none,PFS,2025-02-05,2025-11-20,289,0,Death,,N
"""

REQUEST_EXAMPLES = {
    "record_assessment": RequestExample(
        {"type": "recist", "date": "2026-06-02", "target_lesion_sum_mm": 48.0,
         "new_lesions": False, "non_target_progression": False},
        path={"subject_id": "S01-0001"}),
    "posted_analysis": RequestExample(ADTTE_CSV, media_type="text/csv"),
    "posted_km_png": RequestExample(ADTTE_CSV, media_type="text/csv"),
    "posted_km_svg": RequestExample(ADTTE_CSV, media_type="text/csv"),
}

_ADTTE = ("the body is an ADTTE CSV: the columns named, one row per subject, AVAL = ADT - "
          "STARTDT + 1, CNSR 0 with EVNTDESC or 1 with CNSDTDSC, both arms present")
_BOTH_ARMS = ("each arm has at least one subject in the population analysed (with the "
              "cut-off)")
RULES_BEYOND_SCHEMA = {
    "live_analysis": [_BOTH_ARMS],
    "live_km_png": [_BOTH_ARMS],
    "live_km_svg": [_BOTH_ARMS],
    "record_assessment": [
        "dates are not after today anywhere on Earth (UTC+14) nor before the randomization",
        "`supersedes` names a current record of the same subject",
    ],
    "posted_analysis": [_ADTTE],
    "posted_km_png": [_ADTTE],
    "posted_km_svg": [_ADTTE],
}

REQUEST_EXAMPLES |= QUERY_EXAMPLES
RULES_BEYOND_SCHEMA |= QUERY_RULES

REQUEST_EXAMPLES["freeze"] = RequestExample({
    "name": "DMC-1", "cutoff": "2026-06-01",
    "reason": "first interim look of the data monitoring committee"})
RULES_BEYOND_SCHEMA["freeze"] = [
    "the cut-off is not in the future; the reason has at least three words of two or more "
    "letters; a name is used once (409)"]
RULES_BEYOND_SCHEMA["get_analysis"] = [_BOTH_ARMS + ", as frozen with the cut"]
RULES_BEYOND_SCHEMA["get_figure"] = [_BOTH_ARMS + ", as frozen with the cut"]
