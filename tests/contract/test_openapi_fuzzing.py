"""Schemathesis over the four OpenAPI documents, against the services served over real HTTP.

The `schemathesis run` command an integrator would use, with every check it has (status codes,
content types, headers and bodies as documented; valid data accepted, invalid data refused; auth
not ignored; 405 for undocumented methods; no 5xx), positive and negative data, its examples,
coverage and fuzzing phases, bounded so that the four documents take a minute or two. A lie in a
document fails here, with schemathesis' report and a curl command to reproduce it.

Valid-by-schema data may still be refused with 422 by a rule JSON Schema cannot state (a date not
in the future, an arm left empty): such operations list those rules under
`x-rules-beyond-schema` (and in their 422 description); only there does the "valid data is
accepted" check take a 422.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import SERVICES
from live_service import LiveService, serving

from rescue_shared.auth.tokens import ROLES
from rescue_shared.testing import token

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 5  # per operation and phase: the four documents in a few minutes on 2 cores
SEED = int(os.environ.get("RESCUE_FUZZ_SEED", "20261130"))  # a fixed seed: a failure reproduces
# schemathesis' own default, plus 422 for the operations naming rules beyond their schema.
ACCEPTED_VALID = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def config_toml(document: dict[str, Any]) -> str:
    """schemathesis.toml: every check, and the per-operation 422 allowance."""
    beyond_schema = sorted(operation["operationId"] for path in document["paths"].values()
                           for operation in path.values()
                           if operation.get("x-rules-beyond-schema"))
    lines = ["[checks]", "enabled = true", "",
             "[phases.stateful]", "enabled = false", "",
             # Two methods no operation has are enough to see 405 with a true Allow header;
             # every method on every path doubled the coverage phase.
             "[phases.coverage]", 'unexpected-methods = ["PATCH", "DELETE"]', ""]
    if beyond_schema:
        lines += ["[[operations]]", f"include-operation-id = {json.dumps(beyond_schema)}",
                  f"checks.positive_data_acceptance.expected-statuses = "
                  f"{json.dumps([*ACCEPTED_VALID, '422'])}", ""]
    return "\n".join(lines)


@pytest.fixture(params=list(SERVICES))
def live_service(request: pytest.FixtureRequest, kafka_bootstrap: str,
                 postgres_admin_url: str) -> Iterator[LiveService]:
    definition, settings_cls = SERVICES[request.param]
    with serving(definition, settings_cls, postgres_admin_url,
                 kafka_bootstrap_servers=kafka_bootstrap,
                 kafka_topic_namespace=f"contract-{request.param}-{os.getpid()}.") as service:
        yield service


def test_every_operation_answers_as_its_document_says(live_service: LiveService,
                                                      tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(live_service.document))
    command = [
        str(SCHEMATHESIS), "--no-color", "--config-file", str(config), "run",
        f"{live_service.url}/openapi.json", "--checks", "all", "--mode", "all",
        "--phases", "examples,coverage,fuzzing", "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED), "--workers", "1", "--max-failures", "20",
        "--header", f"Authorization: Bearer {token('S01', *sorted(ROLES))}",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    # In tmp_path: schemathesis keeps its cache (.schemathesis/) in the working directory.
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False,
                         cwd=tmp_path)
    report = run.stdout + run.stderr
    assert run.returncode == 0, f"schemathesis found the contract untrue:\n{report}"
    print(report)  # the phases' counts and durations, shown with -s or -rP
