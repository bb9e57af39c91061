"""Every request example the OpenAPI documents show is accepted by the real platform.

The examples tell one story (subject S01-0001 screened, her CA-125 sent as JSON and FHIR,
corrected, randomized, followed up; calculators and a posted data cut): posted in that order,
through the clients generated from the documents, on the dates they are written for (the wall
clock is moved there; the broker and databases are the real ones). Every operation with a request
body must have an example, and every example must be posted here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from contract_client import ContractClient
from harness import Platform

from rescue_shared.testing import auth, eventually

pytestmark = pytest.mark.e2e
SUBJECT = {"subject_id": "S01-0001"}
# (service, operationId, roles of the caller, statuses the example may get), in story order.
ENROLMENT = [
    ("eligibility", "create_screening", ("site_user",), {201}),
    ("prediction", "post_ca125", ("site_user",), {201, 202}),
    ("prediction", "post_observation", ("site_user",), {201}),
    ("prediction", "post_bundle", ("site_user",), {200}),
    ("prediction", "correct_ca125", ("site_user",), {201}),
    ("prediction", "post_official_kelim", ("site_user",), {201, 202}),
    ("prediction", "calculate", ("site_user",), {200}),
    ("prediction", "calculate_batch", ("statistician",), {200}),
    ("randomization", "configure", ("admin",), {200}),
]
FOLLOW_UP = [
    ("followup", "record_assessment", ("site_user",), {201}),
    ("followup", "posted_analysis", ("statistician",), {200}),
    ("followup", "posted_km_png", ("statistician",), {200}),
    ("followup", "posted_km_svg", ("statistician",), {200}),
    ("followup", "freeze", ("statistician",), {201}),
    ("randomization", "verify_strata", ("investigator",), {200}),
    ("randomization", "invalidate", ("investigator",), {200}),
]
# A data query on S01-0001 in every service: raised, answered, re-opened, closed (the steps'
# path names the query the first example opened).
QUERY_STEPS = [("open_query", ("monitor",), 201), ("answer_query", ("site_user",), 200),
               ("reopen_query", ("monitor",), 200), ("close_query", ("monitor",), 200)]
RANDOMIZATION = ("randomization", "randomize", ("site_user",), {201})
ENROLLED_ON = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)  # after every date in the examples
FOLLOWED_UP_ON = dt.datetime(2026, 6, 10, 9, tzinfo=dt.UTC)


def documented_example(api: ContractClient, operation_id: str) -> tuple[str, Any, dict[str, str]]:
    """(media type, body, path parameters) of the operation's example."""
    spec = api.operations[operation_id].spec
    media, body = next((media, content["example"])
                       for media, content in spec["requestBody"]["content"].items()
                       if "example" in content)
    path = {p["name"]: p["example"] for p in spec.get("parameters", [])
            if p.get("in") == "path" and "example" in p}
    return media, body, path


async def post_example(apis: dict[str, ContractClient],
                       step: tuple[str, str, tuple[str, ...], set[int]],
                       path_override: dict[str, str] | None = None) -> Any:
    service, operation_id, roles, statuses = step
    api = apis[service]
    media, body, path = documented_example(api, operation_id)
    path = path | (path_override or {})
    headers = auth("S01", *roles) | {"Content-Type": media}
    if media.endswith("json"):  # checked against the documented schema on the way
        response = await api.call(operation_id, path=path, json=body, headers=headers)
    else:
        response = await api.call(operation_id, path=path, content=body, headers=headers)
    assert response.status_code in statuses, f"{operation_id}: {response.text[:1000]}"
    return response


async def post_query_examples(apis: dict[str, ContractClient], service: str) -> None:
    query_id: dict[str, str] = {}
    for operation_id, roles, status in QUERY_STEPS:
        response = await post_example(apis, (service, operation_id, roles, {status}), query_id)
        query_id = {"query_id": response.json()["id"]}
    assert response.json()["state"] == "closed"


async def test_every_documented_example_is_accepted(platform: Platform) -> None:
    apis = {name: await ContractClient.of(service.client)
            for name, service in platform.services.items()}
    with_body = {(name, op_id) for name, api in apis.items()
                 for op_id, op in api.operations.items() if "requestBody" in op.spec}
    with_example = {(name, op_id) for name, api in apis.items()
                    for op_id, op in api.operations.items()
                    if any("example" in c for c in op.spec.get("requestBody", {})
                           .get("content", {}).values())}
    assert with_body == with_example, f"request bodies without example: {with_body - with_example}"
    posted = {(s[0], s[1]) for s in [*ENROLMENT, RANDOMIZATION, *FOLLOW_UP]} | {
        (name, step[0]) for name in apis for step in QUERY_STEPS}
    assert posted == with_example, f"examples not posted here: {with_example - posted}"

    with time_machine.travel(ENROLLED_ON, tick=True):
        for step in ENROLMENT:
            await post_example(apis, step)

        async def randomizable() -> bool:
            candidate = await apis["randomization"].call(
                "get_candidate", path=SUBJECT, headers=auth("S01", "site_user"))
            return candidate.status_code == 200 and bool(candidate.json()["randomizable"])

        await eventually(randomizable, timeout=60, description="S01-0001 randomizable")
        await post_example(apis, RANDOMIZATION)

        async def followed() -> bool:
            subject = await apis["followup"].call("get_subject", path=SUBJECT,
                                                  headers=auth("S01", "site_user"))
            return subject.status_code == 200

        await eventually(followed, timeout=60, description="S01-0001 in follow-up")

    with time_machine.travel(FOLLOWED_UP_ON, tick=True):
        for step in FOLLOW_UP:
            await post_example(apis, step)
        for name in apis:
            await post_query_examples(apis, name)
