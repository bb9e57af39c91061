"""The console's own rules, without the services: API errors in plain words, the screening form
generated from the real eligibility schema, worklist search and sort, follow-up forms, the
accrual figure, dead-letter counts."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from rescue_console.api import Api
from rescue_console.api_errors import from_problem, unreachable
from rescue_console.charts import accrual_svg
from rescue_console.facts_form import NOT_EVALUABLE, fact_fields, read_facts
from rescue_console.followup_forms import BY_TYPE, prefilled, read_record
from rescue_console.pages_queries import all_queries
from rescue_console.pages_subject import _row_of, read_measurements
from rescue_console.pages_trial import dead_lettered
from rescue_console.worklist import WorklistRow, arrange, next_visit, site_worklist
from rescue_eligibility.app import create_app as eligibility_app
from rescue_eligibility.settings import EligibilitySettings


def test_a_validation_problem_names_each_field_by_its_label_never_as_json() -> None:
    error = from_problem("eligibility", 422, {
        "type": "about:blank", "title": "Invalid request", "status": 422,
        "detail": "invalid field(s): facts.age_years, screening_date",
        "errors": [
            {"field": "facts.age_years", "rule": "less_than_equal",
             "message": "Input should be less than or equal to 120"},
            {"field": "screening_date", "rule": "value_error",
             "message": "Value error, screening_date must not be in the future"}]},
        labels={"facts.age_years": "age", "screening_date": "Screening date"})
    assert error.summary == "Nothing was saved. Please correct: age, Screening date."
    assert error.message_for("age_years") == "Input should be less than or equal to 120."
    assert error.message_for("screening_date") == "Screening date must not be in the future."
    assert "{" not in error.summary


@pytest.mark.parametrize(("status", "body", "expected"), [
    (404, {"detail": "subject S01-9 not found"},
     "Subject S01-9 not found. It may not exist, or not be visible to your site."),
    (409, {"detail": "subject S01-1 was randomized on 2026-03-02"},
     "Subject S01-1 was randomized on 2026-03-02."),
    (401, {"detail": "token expired"}, "Your sign-in is no longer valid. Please sign in again."),
    (500, "<html>boom</html>", "The followup service could not do this (error 500). Please try "
                               "again, or tell the trial team."),
])
def test_other_problems_are_sentences(status: int, body: object, expected: str) -> None:
    assert from_problem("followup", status, body).summary == expected


def test_an_unreachable_service_is_named() -> None:
    assert "prediction service is not answering" in unreachable("prediction").summary


@pytest.fixture(scope="module")
def real_schema() -> tuple[dict[str, object], dict[str, object]]:
    """The eligibility service's own OpenAPI document and criteria in force (no database)."""
    app = eligibility_app(EligibilitySettings(messaging_enabled=False))
    from rescue_eligibility.adapters.protocol_files import PROTOCOL_FILES

    protocol = PROTOCOL_FILES.load("1")
    criteria = {"current_version": "1", "protocol": protocol.model_dump(mode="json")}
    return app.openapi(), criteria


def test_the_form_has_each_fact_with_its_type_unit_range_and_criteria(
    real_schema: tuple[dict[str, object], dict[str, object]],
) -> None:
    fields = {f.name: f for f in fact_fields(*real_schema)}
    age = fields["age_years"]
    assert (age.kind, age.unit, age.minimum, age.maximum) == ("integer", "years", 0, 120)
    assert "INC-04" in age.used_by and age.label == "age"
    assert fields["platinum_free_interval_months"].unit == "months"
    assert fields["platinum_free_interval_months"].kind == "number"
    assert "high_grade_serous" in fields["histology"].choices
    assert fields["progressed_on_platinum"].kind == "bool"
    assert fields["nact_response_gcig_ca125"].nullable_known
    assert not fields["progressed_on_platinum"].nullable_known
    assert fields["ca125_at_recurrence_u_ml"].used_by == ()  # read by the prediction only
    first = next(iter(fields.values()))
    assert first.used_by and first.used_by[0] == "INC-01"  # criteria facts come first

    facts, errors = read_facts({
        "fact.age_years": "57", "fact.platinum_free_interval_months": "14,5",
        "fact.histology": "high_grade_serous", "fact.progressed_on_platinum": "false",
        "fact.nact_response_gcig_ca125": NOT_EVALUABLE, "fact.ecog": "1.5",
        "fact.recurrence_number": "first", "fact.ascites_ml": ""}, list(fields.values()))
    assert facts == {"age_years": 57, "platinum_free_interval_months": 14.5,
                     "histology": "high_grade_serous", "progressed_on_platinum": False,
                     "nact_response_gcig_ca125": None}
    assert set(errors) == {"ecog", "recurrence_number"}  # blank ascites: unknown, not an error


def row(subject_id: str, **changes: object) -> WorklistRow:
    values: dict[str, object] = dict(
        subject_id=subject_id, screening_date="2026-03-01", outcome="eligible",
        final_decision="eligible", prediction="highly_likely_complete_resection", kelim=1.2,
        randomizable=False, randomized=True, arm="CHEMO", randomization_number="R-0001",
        invalidated=False, next_visit="2026-06-01", overdue=0, pfs="censored")
    return WorklistRow(**(values | changes))  # type: ignore[arg-type]


def test_the_worklist_is_searched_by_words_and_sorted_with_blanks_last() -> None:
    rows = [row("S01-0001", kelim=0.8, arm="SCS_CHEMO"), row("S01-0002", kelim=None),
            row("S01-0003", kelim=1.4, pfs="progression_recist")]
    assert [r.subject_id for r in arrange(rows, "", "kelim", descending=False)] == [
        "S01-0001", "S01-0003", "S01-0002"]
    assert [r.subject_id for r in arrange(rows, "scs_chemo", "subject", False)] == ["S01-0001"]
    assert [r.subject_id for r in arrange(rows, "progression 0003", "subject", False)] == [
        "S01-0003"]
    assert row("x", randomized=False, randomizable=True).randomization == "randomizable"


def test_the_next_visit_and_the_overdue_count_come_from_the_schedule() -> None:
    visits = {"visits": [{"status": "done", "target_date": "2026-01-01"},
                         {"status": "overdue", "target_date": "2026-04-01"},
                         {"status": "upcoming", "target_date": "2026-10-01"},
                         {"status": "due", "target_date": "2026-07-01"}]}
    assert next_visit(visits) == ("2026-07-01", 1)
    assert next_visit(None) == (None, 0)


def test_a_recist_form_becomes_the_api_body_and_a_correction_needs_its_reason() -> None:
    body, errors = read_record(BY_TYPE["recist"], {
        "date": "2026-05-01", "target_lesion_sum_mm": "", "new_lesions": "true",
        "non_target_progression": "false"})
    assert errors == {}
    assert body == {"type": "recist", "date": "2026-05-01", "target_lesion_sum_mm": None,
                    "new_lesions": True, "non_target_progression": False}
    _, errors = read_record(BY_TYPE["death"], {"date": "", "cause": "x", "supersedes": "abc"})
    assert set(errors) == {"date", "correction_reason"}
    assert prefilled({"type": "recist", "date": "2026-05-01", "data": {
        "target_lesion_sum_mm": 50.0, "new_lesions": False}}) == {
        "date": "2026-05-01", "target_lesion_sum_mm": "50", "new_lesions": "false"}


def test_the_accrual_figure_has_one_line_per_site_and_escapes_names() -> None:
    svg = accrual_svg([(date(2026, 3, 1), "S01"), (date(2026, 3, 5), "S02<x>"),
                       (date(2026, 3, 9), "S01")])
    assert svg.count("<polyline") == 2
    assert "S02&lt;x&gt; (1)" in svg and "S01 (2)" in svg and "<x>" not in svg
    assert "No randomization yet" in accrual_svg([])


def test_dead_letters_are_read_from_the_metrics_page() -> None:
    metrics = ("# HELP events_dead_lettered_total Messages sent to a dead-letter topic.\n"
               'events_dead_lettered_total{topic="rescue.eligibility.v1"} 2.0\n'
               'events_consumed_total{topic="x",outcome="duplicate"} 5.0\n')
    assert dead_lettered(metrics) == {"rescue.eligibility.v1": 2}


def test_the_ca125_rows_become_measurements_and_half_filled_rows_are_errors() -> None:
    measurements, errors = read_measurements({
        "date.0": "2026-03-01", "value.0": "900,5", "unit.0": "kU/L",
        "date.1": "2026-03-15", "value.1": "12", "unit.1": "U/mL", "comparator.1": "<",
        "date.2": "2026-03-29", "value.2": "",
        "date.3": "", "value.3": "high", "unit.3": "U/mL"})
    assert measurements == [
        {"date": "2026-03-01", "value": 900.5, "unit": "kU/L"},
        {"date": "2026-03-15", "value": 12.0, "unit": "U/mL", "comparator": "<"}]
    assert errors == {"row.2": "Give both the date and the value.",
                      "row.3": "Give both the date and the value."}
    assert _row_of("measurements.3.value") == "row.3"
    assert _row_of("chemotherapy_start_date") == "chemotherapy_start_date"


async def test_a_service_that_does_not_answer_leaves_its_columns_blank() -> None:
    """The worklist still lists the site's subjects when randomization is down."""
    def eligibility(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"subject_id": "S01-0001", "screening_date": "2026-03-01",
                                          "outcome": "eligible", "final_decision": "pending"}])

    def prediction(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"status": 404, "detail": "no prediction yet"})

    def randomization(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    clients = {name: httpx.AsyncClient(base_url="http://x", transport=httpx.MockTransport(h))
               for name, h in (("eligibility", eligibility), ("prediction", prediction),
                               ("randomization", randomization), ("followup", prediction))}
    rows, silent = await site_worklist(Api(clients, "token"))
    assert silent == {"randomization"}
    assert [(r.subject_id, r.prediction, r.randomization) for r in rows] == [
        ("S01-0001", None, "not yet")]


async def test_data_queries_of_every_service_are_listed_oldest_first_and_silences_named() -> None:
    def answering(service: str, opened: str) -> Any:
        def handler(request: httpx.Request) -> httpx.Response:
            assert request.url.path == "/v1/queries"
            assert request.url.params["state"] == "open"
            return httpx.Response(200, json=[{"id": f"q-{service}", "subject_id": "S01-0001",
                                              "opened_at": opened, "state": "open"}])
        return handler

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    handlers = {"eligibility": answering("eligibility", "2027-02-01T00:00:00Z"),
                "prediction": down,
                "randomization": answering("randomization", "2027-01-01T00:00:00Z"),
                "followup": answering("followup", "2027-03-01T00:00:00Z")}
    clients = {name: httpx.AsyncClient(base_url="http://x", transport=httpx.MockTransport(h))
               for name, h in handlers.items()}
    rows, problems = await all_queries(Api(clients, "token"), "open")
    assert [(q["service"], q["id"]) for q in rows] == [
        ("randomization", "q-randomization"), ("eligibility", "q-eligibility"),
        ("followup", "q-followup")]
    assert len(problems) == 1 and problems[0].startswith("prediction: ")
