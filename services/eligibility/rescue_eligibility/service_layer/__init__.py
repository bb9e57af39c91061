"""Eligibility's use cases, as plain functions taking a unit of work (`unit_of_work.py`).

Screening and reading screenings back (`screenings`), the final decision by the prediction
(`decisions`), the subject ids a site may not use (`subject_ids`), the protocol's criteria
(`criteria`). They speak no HTTP: they raise `rescue_shared.errors` for the edge to answer.
"""
