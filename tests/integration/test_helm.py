"""deploy/helm/rescue checked against the code, as test_compose.py checks the compose file.

`helm lint --strict` and `helm template` run with each values file (the small and the large
trial's, and the defaults); the rendered manifests are parsed and compared with what the code
declares: settings classes (every variable the chart sets is a setting, the values validate,
what a cluster needs is set), ports, health routes of the built apps, console scripts, the
Dockerfile's user. `chart_problems` returns every mismatch as text; deliberately broken copies
of the rendered manifests show that each check can fail.

helm comes from deploy/local/helm.sh (built once from its Go module into .local/). Without it
(no Go) the tests skip, unless RESCUE_REQUIRE_HELM=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import os
import re
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from settings_env import settings_env_names, settings_from_env
from sqlalchemy.engine import make_url

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_eligibility.settings import EligibilitySettings
from rescue_followup.app import DEFINITION as FOLLOWUP
from rescue_followup.settings import FollowupSettings
from rescue_prediction.app import DEFINITION as PREDICTION
from rescue_prediction.settings import PredictionSettings
from rescue_randomization.app import DEFINITION as RANDOMIZATION
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.service import ServiceDefinition, create_service_app
from rescue_shared.settings import LOCAL_DEV_JWT_SECRET

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "rescue"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
HELM_SCRIPT = REPO / "deploy" / "local" / "helm.sh"
VALUES = {"defaults": None, "small": CHART / "values-small.yaml",
          "large": CHART / "values-large.yaml"}
RELEASE, NAMESPACE = "rescue", "rescue-trial"
# Settings only a Secret may carry.
SECRET_SETTINGS = frozenset({"DATABASE_URL", "JWT_SECRET", "JWT_PUBLIC_KEY", "OIDC_CLIENT_SECRET"})
# What a secretKeyRef stands for when the settings are validated (never the public secret).
SECRET_STAND_INS = {"DATABASE_URL": "postgresql+asyncpg://{name}:pw@db.example:5432/rescue_{name}",
                    "JWT_SECRET": "helm-test-secret", "OIDC_CLIENT_SECRET": "helm-test-secret",
                    "JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----"}
ASYNC_POSTGRES_DRIVER = "postgresql+asyncpg"


@dataclass(frozen=True)
class Component:
    name: str
    settings: type[BaseSettings]
    definition: ServiceDefinition | None  # None: the console (not a ServiceDefinition app)

    @property
    def api(self) -> bool:
        return self.definition is not None

    @property
    def port(self) -> int:
        return int(self.settings.model_fields["port"].default)

    @property
    def package(self) -> str:
        return self.settings.__module__.split(".")[0]


APIS = (Component("eligibility", EligibilitySettings, ELIGIBILITY),
        Component("prediction", PredictionSettings, PREDICTION),
        Component("randomization", RandomizationSettings, RANDOMIZATION),
        Component("followup", FollowupSettings, FOLLOWUP))


def console_component() -> Component | None:
    """The console, once services/console is in the checkout (its settings must then import)."""
    if not (REPO / "services" / "console").is_dir():
        return None
    from rescue_console.settings import ConsoleSettings

    return Component("console", ConsoleSettings, None)


CONSOLE = console_component()
COMPONENTS = (*APIS, *((CONSOLE,) if CONSOLE else ()))


# --------------------------------------------------------------------------------------------
# helm
# --------------------------------------------------------------------------------------------
@functools.cache
def helm_binary() -> str:
    """The helm client of deploy/local/helm.sh (built on first use), or skip/fail without it."""
    if explicit := os.environ.get("RESCUE_HELM"):
        return explicit
    try:
        result = subprocess.run(["bash", str(HELM_SCRIPT), "path"], capture_output=True,
                                text=True, timeout=3600, check=False)
        problem = result.stderr.strip().splitlines()[-1:] if result.returncode else None
    except (OSError, subprocess.TimeoutExpired) as error:
        result, problem = None, [str(error)]
    if result is not None and not problem:
        return result.stdout.strip().splitlines()[-1]
    reason = f"helm could not be built by {HELM_SCRIPT.relative_to(REPO)}: {problem}"
    if os.environ.get("RESCUE_REQUIRE_HELM") == "1":
        pytest.fail(f"RESCUE_REQUIRE_HELM=1 but {reason}")
    pytest.skip(reason)


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary(), *args], capture_output=True, text=True, timeout=120,
                          check=False)


def values_args(values: str) -> list[str]:
    path = VALUES[values]
    return ["-f", str(path)] if path else []


@functools.cache
def _rendered(args: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    result = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(*args: str) -> list[dict[str, Any]]:
    """The manifests `helm template` renders (a fresh copy: the checks may be fed mutations)."""
    return copy.deepcopy(list(_rendered(tuple(args))))


# --------------------------------------------------------------------------------------------
# What the code knows
# --------------------------------------------------------------------------------------------
@functools.cache
def app_of(name: str) -> Any:
    """The component's app, built, never started."""
    component = next(c for c in COMPONENTS if c.name == name)
    settings = settings_from_env(component.settings, {"JWT_SECRET": "helm-test-secret"})
    if component.definition is not None:
        return create_service_app(component.definition, settings)
    from rescue_console.app import create_app

    return create_app(settings)


@functools.cache
def answers_get(name: str, path: str) -> bool:
    """Whether the app routes GET `path` (without its lifespan /readyz fails, but not 404)."""
    async def get() -> int:
        transport = httpx.ASGITransport(app=app_of(name), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://pod") as client:
            return (await client.get(path)).status_code

    return asyncio.run(get()) not in (404, 405)


def dockerfile_user() -> int:
    users = re.findall(r"^USER\s+(\d+)", DOCKERFILE.read_text(), re.M)
    return int(users[-1])


@functools.cache
def console_scripts(name: str) -> Mapping[str, str]:
    pyproject = REPO / "services" / name / "pyproject.toml"
    return tomllib.loads(pyproject.read_text())["project"].get("scripts", {})


# --------------------------------------------------------------------------------------------
# Manifest mechanics
# --------------------------------------------------------------------------------------------
def named(manifests: Iterable[Mapping[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    found = [m for m in manifests if m.get("kind") == kind and m["metadata"]["name"] == name]
    return found[0] if len(found) == 1 else None


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and all(labels.get(key) == value for key, value in match.items())


def pod_spec(workload: Mapping[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: Mapping[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("labels") or {}


def env_of(container: Mapping[str, Any]) -> list[dict[str, Any]]:
    return container.get("env") or []


def secret_ref(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
    return (ref.get("name"), ref.get("key")) if ref else None


def resolved_env(component: Component, env: list[dict[str, Any]]) -> dict[str, str]:
    """The container's environment, a secretKeyRef read as a stand-in of its setting."""
    resolved = {}
    for entry in env:
        if "value" in entry:
            resolved[entry["name"]] = str(entry["value"])
        elif secret_ref(entry):
            resolved[entry["name"]] = SECRET_STAND_INS.get(
                entry["name"], "secret").format(name=component.name)
    return resolved


def quantity(value: Any) -> float:
    """A Kubernetes CPU or memory quantity as a number (cores, bytes)."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6,
             "G": 1e9}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[:-len(unit)]) * factor
    return float(text)


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------
def env_problems(component: Component, where: str, env: list[dict[str, Any]]) -> tuple[
        list[str], Any]:
    """Problems of a container's environment, and the settings it makes (None if invalid)."""
    problems = []
    names = [entry["name"] for entry in env]
    if duplicated := sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"{where}: environment variables {duplicated} set twice")
    fields = settings_env_names(component.settings)
    if unknown := sorted(set(names) - set(fields)):
        problems.append(f"{where}: environment variables {unknown} are not settings of "
                        f"{component.settings.__name__}")
    for entry in env:
        if entry["name"] in SECRET_SETTINGS and secret_ref(entry) is None:
            problems.append(f"{where}: {entry['name']} is inlined, not a secretKeyRef")
        if re.search(r"://[^/\s:@]+:[^/\s@]+@", str(entry.get("value", ""))):
            problems.append(f"{where}: {entry['name']} carries a password inline")
    algorithm = next((e.get("value") for e in env if e["name"] == "JWT_ALGORITHM"), "HS256")
    if component.api and algorithm == "HS256" and "JWT_SECRET" not in names:
        # Said before the settings refuse it (outside development they refuse to start).
        problems.append(f"{where}: JWT_SECRET not set from a Secret (the default is the public "
                        "local secret)")
    values = resolved_env(component, env)
    try:
        settings = settings_from_env(component.settings, values)
    except ValidationError as error:
        return [*problems, f"{where}: environment rejected by {component.settings.__name__}: "
                f"{error}"], None
    if settings.port != component.port:
        problems.append(f"{where}: PORT {settings.port} != settings default {component.port}")
    if settings.host != "0.0.0.0":
        problems.append(f"{where}: HOST={settings.host}: unreachable from outside the pod")
    if component.api:
        problems += _api_env_problems(component, where, values, settings, env)
    else:
        problems += _console_env_problems(where, values, settings)
    return problems, settings


def _api_env_problems(component: Component, where: str, values: Mapping[str, str],
                      settings: Any, env: list[dict[str, Any]]) -> list[str]:
    problems = []
    if "DATABASE_URL" not in values:
        problems.append(f"{where}: DATABASE_URL not set (the default is a SQLite file)")
    elif make_url(settings.database_url).drivername != ASYNC_POSTGRES_DRIVER:
        problems.append(f"{where}: DATABASE_URL driver is not {ASYNC_POSTGRES_DRIVER}")
    for server in settings.kafka_bootstrap_servers.split(","):
        if "KAFKA_BOOTSTRAP_SERVERS" not in values or server.split(":")[0] in (
                "127.0.0.1", "localhost", ""):
            problems.append(f"{where}: KAFKA_BOOTSTRAP_SERVERS {server} is not a cluster "
                            "address")
    if settings.jwt_algorithm == "HS256":
        if "JWT_SECRET" not in values or settings.jwt_secret == LOCAL_DEV_JWT_SECRET:
            problems.append(f"{where}: JWT_SECRET not set from a Secret (the default is the "
                            "public local secret)")
    elif not settings.jwt_jwks_url and not any(
            entry["name"] == "JWT_PUBLIC_KEY" and secret_ref(entry) for entry in env):
        problems.append(f"{where}: {settings.jwt_algorithm} without JWT_JWKS_URL or "
                        "JWT_PUBLIC_KEY")
    return problems


def _console_env_problems(where: str, values: Mapping[str, str], settings: Any) -> list[str]:
    problems = []
    for api in APIS:
        url = make_url(values.get(f"{api.name.upper()}_URL", "http://127.0.0.1"))
        if url.host != f"{RELEASE}-{api.name}" or url.port != api.port:
            problems.append(f"{where}: {api.name.upper()}_URL {url} is not the {api.name} "
                            f"Service ({RELEASE}-{api.name}:{api.port})")
    if settings.dev_sign_in:
        problems.append(f"{where}: DEV_SIGN_IN is on (anyone picks a site and roles)")
    if not settings.oidc_issuer:
        problems.append(f"{where}: no OIDC_ISSUER: nobody can sign in")
    if not settings.cookie_secure:
        problems.append(f"{where}: COOKIE_SECURE is off")
    return problems


def container_problems(component: Component, where: str, workload: Mapping[str, Any],
                       registry_image: str | None) -> tuple[list[str], dict[str, Any], Any]:
    """Checks shared by the Deployment and the migration Job: image, user, filesystem, env."""
    problems = []
    spec = pod_spec(workload)
    containers = spec.get("containers") or []
    if len(containers) != 1:
        return [f"{where}: {len(containers)} containers, expected 1"], {}, None
    container = containers[0]
    image = str(container.get("image", ""))
    repository, _, tag = image.rpartition(":")
    if repository.rsplit("/", 1)[-1] != f"rescue-{component.name}":
        problems.append(f"{where}: image {image} is not rescue-{component.name} (deploy/"
                        f"Dockerfile with SERVICE={component.name})")
    if not tag or tag == "latest" or "/" in tag:
        problems.append(f"{where}: image {image} has no pinned tag")
    if registry_image is not None and image != registry_image:
        problems.append(f"{where}: image {image} != the Deployment's {registry_image}")
    pod_security = spec.get("securityContext") or {}
    if pod_security.get("runAsNonRoot") is not True or pod_security.get(
            "runAsUser") != dockerfile_user():
        problems.append(f"{where}: pod does not run as non-root uid {dockerfile_user()} (the "
                        f"Dockerfile's USER): {pod_security}")
    security = container.get("securityContext") or {}
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: allowPrivilegeEscalation is not false")
    if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
        problems.append(f"{where}: capabilities not dropped")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: root filesystem writable")
    elif not any(mount.get("mountPath") == "/tmp" for mount in container.get("volumeMounts")
                 or []):
        problems.append(f"{where}: read-only root without a writable /tmp (matplotlib, "
                        "tempfile)")
    resources = container.get("resources") or {}
    for kind in ("cpu", "memory"):
        request = (resources.get("requests") or {}).get(kind)
        limit = (resources.get("limits") or {}).get(kind)
        if request is None or limit is None:
            problems.append(f"{where}: {kind} request and limit not both set")
        elif quantity(request) > quantity(limit):
            problems.append(f"{where}: {kind} request {request} above its limit {limit}")
    env_issues, settings = env_problems(component, where, env_of(container))
    return problems + env_issues, container, settings


def probe_problems(component: Component, where: str, container: Mapping[str, Any]) -> list[
        str]:
    problems = []
    ports = {"http", component.port} | {port.get("name") for port in container.get("ports") or []
                                        if port.get("containerPort") == component.port}
    expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz" if component.api else
                "/healthz", "startupProbe": "/healthz"}
    for probe, path in expected.items():
        http = (container.get(probe) or {}).get("httpGet") or {}
        if http.get("path") != path or http.get("port") not in ports or not answers_get(
                component.name, path):
            problems.append(f"{where}: {probe} {http or None} is not GET {path} on port "
                            f"{component.port}, a route of the app")
    declared = [(port.get("name"), port.get("containerPort")) for port in
                container.get("ports") or []]
    if declared != [("http", component.port)]:
        problems.append(f"{where}: container ports {declared} != [('http', {component.port})] "
                        "(the settings' port)")
    return problems


def component_problems(component: Component, manifests: list[dict[str, Any]],
                       console_enabled: bool, ingress_namespace: str) -> list[str]:
    name = f"{RELEASE}-{component.name}"
    deployment = named(manifests, "Deployment", name)
    if deployment is None:
        return [f"{component.name}: no Deployment {name}"]
    where = f"{component.name} Deployment"
    labels = pod_labels(deployment)
    problems = []
    if not selects(deployment["spec"].get("selector"), labels):
        problems.append(f"{where}: selector does not match its pod labels")
    spread = [c for c in pod_spec(deployment).get("topologySpreadConstraints") or []
              if c.get("topologyKey") == "kubernetes.io/hostname"
              and selects(c.get("labelSelector"), labels)]
    if component.api and not spread:
        problems.append(f"{where}: replicas not spread over nodes (one node down takes them "
                        "all)")
    issues, container, settings = container_problems(component, where, deployment, None)
    problems += issues
    if container:
        problems += probe_problems(component, where, container)

    service = named(manifests, "Service", name)
    if service is None:
        problems.append(f"{component.name}: no Service {name}")
    else:
        ports = service["spec"].get("ports") or []
        if not selects({"matchLabels": service["spec"].get("selector")}, labels):
            problems.append(f"{component.name} Service: selector does not match the pods")
        if [(p.get("port"), p.get("targetPort")) for p in ports] not in (
                [(component.port, "http")], [(component.port, component.port)]):
            problems.append(f"{component.name} Service: ports {ports} do not expose "
                            f"{component.port}")

    replicas = deployment["spec"].get("replicas")
    hpa = named(manifests, "HorizontalPodAutoscaler", name)
    least = replicas
    if hpa is not None:
        spec = hpa["spec"]
        least = spec.get("minReplicas", 1)
        if spec.get("scaleTargetRef", {}).get("name") != name:
            problems.append(f"{component.name} HPA: scales {spec.get('scaleTargetRef')}")
        if replicas is not None:
            problems.append(f"{where}: replicas {replicas} beside an autoscaler (every upgrade "
                            "would reset the autoscaler's count)")
        if not 1 <= least <= spec.get("maxReplicas", 0):
            problems.append(f"{component.name} HPA: minReplicas {least} > maxReplicas")
        partitions = getattr(settings, "kafka_topic_partitions", None)
        if partitions is not None and spec["maxReplicas"] > partitions:
            problems.append(f"{component.name} HPA: maxReplicas {spec['maxReplicas']} > "
                            f"KAFKA_TOPIC_PARTITIONS {partitions} (replicas beyond consume "
                            "nothing)")
    if not component.api and (hpa is not None or replicas != 1):
        problems.append(f"{component.name}: {replicas} replicas / autoscaler: the console keeps "
                        "its sessions in memory, it runs one replica")

    pdb = named(manifests, "PodDisruptionBudget", name)
    if pdb is None:
        problems.append(f"{component.name}: no PodDisruptionBudget {name}")
    else:
        if not selects(pdb["spec"].get("selector"), labels):
            problems.append(f"{component.name} PDB: selector does not match the pods")
        max_unavailable = pdb["spec"].get("maxUnavailable")
        min_available = pdb["spec"].get("minAvailable")
        if not ((isinstance(max_unavailable, int) and max_unavailable >= 1) or (
                isinstance(min_available, int) and least is not None
                and min_available < least)):
            problems.append(f"{component.name} PDB: allows no disruption with {least} "
                            "replicas (node drains would hang)")

    problems += network_policy_problems(component, manifests, labels, console_enabled,
                                        ingress_namespace)
    if component.api:
        problems += migration_problems(component, manifests, container, settings)
    return problems


def network_policy_problems(component: Component, manifests: list[dict[str, Any]],
                            labels: Mapping[str, str], console_enabled: bool,
                            ingress_namespace: str) -> list[str]:
    """Only the ingress controller's namespace (and the console, for an API) get in."""
    where = f"{component.name} NetworkPolicy"
    policies = [m for m in manifests if m.get("kind") == "NetworkPolicy"
                and selects(m["spec"].get("podSelector"), labels)]
    if not any("Ingress" in (p["spec"].get("policyTypes") or []) for p in policies):
        return [f"{where}: no NetworkPolicy restricts ingress to the {component.name} pods"]
    console = {"app.kubernetes.io/name": "rescue", "app.kubernetes.io/instance": RELEASE,
               "app.kubernetes.io/component": "console"}
    problems, allowed = [], set()
    for policy in policies:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            if not peers:
                problems.append(f"{where}: a rule without `from` lets every pod in")
                continue
            for peer in peers:
                namespaces = peer.get("namespaceSelector")
                pods = peer.get("podSelector")
                if namespaces is not None and pods is None and (
                        namespaces.get("matchLabels") or {}) == {
                        "kubernetes.io/metadata.name": ingress_namespace}:
                    allowed.add("ingress")
                elif namespaces is None and pods is not None and component.api and selects(
                        pods, console) and console_enabled:
                    allowed.add("console")
                else:
                    problems.append(f"{where}: lets in {peer} (only the ingress controller "
                                    "and the console may)")
    wanted = {"ingress"} | ({"console"} if component.api and console_enabled else set())
    if missing := wanted - allowed:
        problems.append(f"{where}: {sorted(missing)} cannot reach {component.name}")
    return problems


def migration_problems(component: Component, manifests: list[dict[str, Any]],
                       deployment_container: Mapping[str, Any], settings: Any) -> list[str]:
    name = f"{RELEASE}-{component.name}-migrate"
    job = named(manifests, "Job", name)
    migrate_on_start = getattr(settings, "migrate_on_start", None)
    if job is None:
        if migrate_on_start is False:
            return [f"{component.name}: no migration Job {name} and MIGRATE_ON_START is off: "
                    "nothing migrates"]
        return []
    where = f"{component.name} migration Job"
    problems = []
    if migrate_on_start:
        problems.append(f"{component.name} Deployment: MIGRATE_ON_START on beside the "
                        "migration Job (a failed migration would fail the rollout instead)")
    hooks = set(str(job["metadata"].get("annotations", {}).get("helm.sh/hook", "")).split(","))
    if not {"pre-install", "pre-upgrade"} <= hooks:
        problems.append(f"{where}: not a pre-install,pre-upgrade hook ({sorted(hooks)})")
    if pod_spec(job).get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append(f"{where}: restartPolicy {pod_spec(job).get('restartPolicy')}")
    issues, container, _ = container_problems(
        component, where, job, deployment_container.get("image"))
    problems += issues
    command = (container.get("command") or []) + (container.get("args") or [])
    script = console_scripts(component.name).get(command[0] if command else "", "")
    if not script.startswith(f"{component.package}.") or command[1:] != ["migrate"]:
        problems.append(f"{where}: runs {command}, not [rescue-{component.name}, migrate] "
                        f"(console script of {component.package})")
    job_secrets = {e["name"]: secret_ref(e) for e in env_of(container) if secret_ref(e)}
    deployment_secrets = {e["name"]: secret_ref(e) for e in env_of(deployment_container)
                          if secret_ref(e)}
    if job_secrets.get("DATABASE_URL") != deployment_secrets.get("DATABASE_URL"):
        problems.append(f"{where}: DATABASE_URL from {job_secrets.get('DATABASE_URL')}, the "
                        f"Deployment's from {deployment_secrets.get('DATABASE_URL')}")
    return problems


def chart_problems(manifests: list[dict[str, Any]], *, console_enabled: bool = True,
                   ingress_namespace: str = "ingress-nginx") -> list[str]:
    """Every mismatch between rendered manifests and the code, as readable lines."""
    problems = [f"Secret {m['metadata']['name']} in the manifests (Secrets are referenced "
                "by name, never rendered)" for m in manifests if m.get("kind") == "Secret"]
    for component in COMPONENTS:
        if component.api or console_enabled:
            problems += component_problems(component, manifests, console_enabled,
                                           ingress_namespace)
    services = {m["metadata"]["name"]: m for m in manifests if m.get("kind") == "Service"}
    for ingress in (m for m in manifests if m.get("kind") == "Ingress"):
        for rule in ingress["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = path["backend"]["service"]
                service = services.get(backend["name"])
                names = {p.get("name") for p in (service or {}).get("spec", {}).get("ports", [])}
                if service is None or backend["port"].get("name") not in names:
                    problems.append(f"Ingress {rule.get('host')}: backend {backend} is not a "
                                    "Service port of the chart")
    return problems


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("values", list(VALUES))
def test_helm_lint_passes(values: str) -> None:
    result = helm("lint", "--strict", str(CHART), *values_args(values))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values", list(VALUES))
def test_rendered_chart_matches_the_code(values: str) -> None:
    manifests = render(*values_args(values))
    assert chart_problems(manifests) == []
    kinds = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    for component in ("eligibility", "prediction", "randomization", "followup", "console"):
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
            assert (kind, f"{RELEASE}-{component}") in kinds
    for api in APIS:
        assert ("HorizontalPodAutoscaler", f"{RELEASE}-{api.name}") in kinds
        assert ("Job", f"{RELEASE}-{api.name}-migrate") in kinds


def test_large_trial_scales_further_than_a_small_one() -> None:
    def bounds(values: str) -> dict[str, tuple[int, int]]:
        return {m["metadata"]["name"]: (m["spec"]["minReplicas"], m["spec"]["maxReplicas"])
                for m in render(*values_args(values))
                if m["kind"] == "HorizontalPodAutoscaler"}

    small, large = bounds("small"), bounds("large")
    assert small.keys() == large.keys() == {f"{RELEASE}-{api.name}" for api in APIS}
    for name in small:
        assert small[name][0] >= 2, "one pod per API would stop it on every node drain"
        assert large[name][0] >= small[name][0] and large[name][1] > small[name][1]


def test_large_values_publish_every_component_through_the_ingress() -> None:
    manifests = render(*values_args("large"))
    ingress = [m for m in manifests if m["kind"] == "Ingress"]
    assert len(ingress) == 1
    backends = {path["backend"]["service"]["name"] for rule in ingress[0]["spec"]["rules"]
                for path in rule["http"]["paths"]}
    assert backends == {f"{RELEASE}-{c}" for c in
                        ("eligibility", "prediction", "randomization", "followup", "console")}


def test_console_can_be_disabled() -> None:
    manifests = render("--set", "console.enabled=false")
    assert not [m for m in manifests if m["metadata"]["name"] == f"{RELEASE}-console"]
    # The APIs' policies then let the ingress controller in, and nothing else: the default
    # render, which lets the console in, does not pass the same check.
    assert chart_problems(manifests, console_enabled=False) == []
    assert any("lets in" in problem for problem in chart_problems(render(),
                                                                 console_enabled=False))


def test_migrations_on_start_without_the_job() -> None:
    manifests = render("--set", "migrations.job=false")
    assert not [m for m in manifests if m["kind"] == "Job"]
    assert chart_problems(manifests) == []
    for api in APIS:
        container = pod_spec(named(manifests, "Deployment", f"{RELEASE}-{api.name}"))[
            "containers"][0]
        assert {"name": "MIGRATE_ON_START", "value": "true"} in env_of(container)


def test_identity_provider_keys_instead_of_a_shared_secret() -> None:
    manifests = render("--set", "auth.algorithm=RS256",
                       "--set", "auth.jwksUrl=https://idp.example.org/jwks",
                       "--set", "auth.issuer=https://idp.example.org",
                       "--set", "auth.audience=rescue")
    assert chart_problems(manifests) == []
    env = env_of(pod_spec(named(manifests, "Deployment", f"{RELEASE}-randomization"))[
        "containers"][0])
    names = {entry["name"] for entry in env}
    assert {"JWT_JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE"} <= names and "JWT_SECRET" not in names


@pytest.mark.parametrize("setting, complaint", [
    ("eligibility.database.existingSecret=", "eligibility.database.existingSecret is required"),
    ("auth.jwtSecret.existingSecret=", "auth.jwtSecret.existingSecret is required"),
    ("console.oidc.issuer=", "console.oidc.issuer is required"),
    ("ingress.enabled=true", "set <component>.ingressHost"),
])
def test_render_refuses_incomplete_values(setting: str, complaint: str) -> None:
    result = helm("template", RELEASE, str(CHART), "--set", setting)
    assert result.returncode != 0 and complaint in result.stderr, result.stderr


def test_migration_jobs_commands_migrate_a_database(tmp_path: Path) -> None:
    """Each Job's command and environment, run here with a SQLite file for the Secret."""
    manifests = render()
    runs = {}
    for api in APIS:
        container = pod_spec(named(manifests, "Job", f"{RELEASE}-{api.name}-migrate"))[
            "containers"][0]
        env = {**resolved_env(api, env_of(container)),
               "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / api.name}.db"}
        executable = Path(sys.executable).parent / container["command"][0]
        runs[api.name] = subprocess.Popen(
            [str(executable), *container["command"][1:]], cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", ""), **env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for name, run in runs.items():
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, output
        with sqlite3.connect(tmp_path / f"{name}.db") as database:
            assert database.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
            assert database.execute("SELECT count(*) FROM outbox_message").fetchone() == (0,)


# Deliberately broken copies: each check must be able to fail.
def _deployment(manifests: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return named(manifests, "Deployment", f"{RELEASE}-{name}")  # type: ignore[return-value]


def _container(manifests: list[dict[str, Any]], name: str, kind: str = "Deployment") -> dict[
        str, Any]:
    suffix = "-migrate" if kind == "Job" else ""
    workload = named(manifests, kind, f"{RELEASE}-{name}{suffix}")
    assert workload is not None
    return pod_spec(workload)["containers"][0]


def _env(name: str, variable: str, entry: dict[str, Any] | None, kind: str = "Deployment"):
    def mutate(manifests: list[dict[str, Any]]) -> None:
        env = _container(manifests, name, kind)["env"]
        index = next(i for i, e in enumerate(env) if e["name"] == variable)
        if entry is None:
            env.pop(index)
        else:
            env[index] = entry
    return mutate


def _edit(kind: str, name: str, change: Callable[[dict[str, Any]], None]):
    def mutate(manifests: list[dict[str, Any]]) -> None:
        resource = named(manifests, kind, name)
        assert resource is not None
        change(resource)
    return mutate


def _drop(kind: str, name: str):
    def mutate(manifests: list[dict[str, Any]]) -> None:
        manifests.remove(named(manifests, kind, name))
    return mutate


def _in_container(name: str, change: Callable[[dict[str, Any]], None], kind: str = "Deployment"):
    def mutate(manifests: list[dict[str, Any]]) -> None:
        change(_container(manifests, name, kind))
    return mutate


def _set_in(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(node: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return change


E, P, R, F = (f"{RELEASE}-{name}" for name in ("eligibility", "prediction", "randomization",
                                               "followup"))
CHART_MUTATIONS: dict[str, tuple[Callable[[list[dict[str, Any]]], None], str]] = {
    "typo in a variable name": (
        _env("prediction", "KAFKA_BOOTSTRAP_SERVERS",
             {"name": "KAFKA_BOOTSTRAP_SERVER", "value": "kafka:9092"}),
        "prediction Deployment: environment variables ['KAFKA_BOOTSTRAP_SERVER'] are not "
        "settings"),
    "value the settings reject": (
        _env("followup", "KAFKA_TOPIC_PARTITIONS", {"name": "KAFKA_TOPIC_PARTITIONS",
                                                    "value": "0"}),
        "followup Deployment: environment rejected by FollowupSettings"),
    "database URL inlined": (
        _env("eligibility", "DATABASE_URL", {
            "name": "DATABASE_URL",
            "value": "postgresql+asyncpg://eligibility:pw@db:5432/rescue_eligibility"}),
        "eligibility Deployment: DATABASE_URL is inlined"),
    "no database URL": (_env("randomization", "DATABASE_URL", None),
                        "randomization Deployment: DATABASE_URL not set"),
    "JWT secret inlined": (
        _env("followup", "JWT_SECRET", {"name": "JWT_SECRET", "value": LOCAL_DEV_JWT_SECRET}),
        "followup Deployment: JWT_SECRET is inlined"),
    "no JWT secret": (_env("prediction", "JWT_SECRET", None),
                      "prediction Deployment: JWT_SECRET not set from a Secret"),
    "a Secret rendered": (lambda m: m.append({"kind": "Secret", "metadata": {"name": "db"}}),
                          "Secret db in the manifests"),
    "broker on localhost": (
        _env("eligibility", "KAFKA_BOOTSTRAP_SERVERS",
             {"name": "KAFKA_BOOTSTRAP_SERVERS", "value": "localhost:9092"}),
        "eligibility Deployment: KAFKA_BOOTSTRAP_SERVERS localhost:9092"),
    "PORT differs from the settings": (
        _env("followup", "PORT", {"name": "PORT", "value": "8014"}),
        "followup Deployment: PORT 8014 != settings default 8004"),
    "container port differs": (
        _in_container("prediction", _set_in("ports", [{"name": "http", "containerPort": 8012}])),
        "prediction Deployment: container ports [('http', 8012)]"),
    "liveness on a missing route": (
        _in_container("randomization", _set_in("livenessProbe.httpGet.path", "/health")),
        "randomization Deployment: livenessProbe"),
    "readiness that ignores the database": (
        _in_container("eligibility", _set_in("readinessProbe.httpGet.path", "/healthz")),
        "eligibility Deployment: readinessProbe"),
    "image of another service": (
        _in_container("eligibility", _set_in("image", "registry.example.org/rescue-prediction:1")),
        "eligibility Deployment: image registry.example.org/rescue-prediction:1 is not "
        "rescue-eligibility"),
    "image without a tag": (
        _in_container("followup", _set_in("image", "registry.example.org/rescue-followup:latest")),
        "followup Deployment: image registry.example.org/rescue-followup:latest has no pinned"),
    "replicas on one node": (
        _edit("Deployment", E, lambda d: pod_spec(d).pop("topologySpreadConstraints")),
        "eligibility Deployment: replicas not spread over nodes"),
    "runs as root": (_edit("Deployment", P, lambda d: pod_spec(d)["securityContext"].update(
        runAsUser=0)), "prediction Deployment: pod does not run as non-root uid 10001"),
    "writable root filesystem": (
        _in_container("randomization", _set_in("securityContext.readOnlyRootFilesystem", False)),
        "randomization Deployment: root filesystem writable"),
    "no writable /tmp": (_in_container("prediction", _set_in("volumeMounts", [])),
                         "prediction Deployment: read-only root without a writable /tmp"),
    "no memory limit": (_in_container("followup", _set_in("resources.limits.memory", None)),
                        "followup Deployment: memory request and limit not both set"),
    "request above limit": (
        _in_container("followup", _set_in("resources.requests.memory", "4Gi")),
        "followup Deployment: memory request 4Gi above its limit"),
    "Service selects other pods": (
        _edit("Service", E, _set_in("spec.selector.app.kubernetes.io/component", "x")),
        "eligibility Service: selector does not match the pods"),
    "replicas beside the autoscaler": (_edit("Deployment", R, _set_in("spec.replicas", 2)),
                                       "randomization Deployment: replicas 2 beside an "
                                       "autoscaler"),
    "autoscaler beyond the partitions": (
        _edit("HorizontalPodAutoscaler", P, _set_in("spec.maxReplicas", 40)),
        "prediction HPA: maxReplicas 40 > KAFKA_TOPIC_PARTITIONS"),
    "PDB that blocks drains": (
        _edit("PodDisruptionBudget", F, lambda p: p.update(spec={
            "minAvailable": 2, "selector": p["spec"]["selector"]})),
        "followup PDB: allows no disruption with 2 replicas"),
    "no NetworkPolicy": (_drop("NetworkPolicy", R),
                         "randomization NetworkPolicy: no NetworkPolicy restricts ingress"),
    "NetworkPolicy lets everyone in": (
        _edit("NetworkPolicy", E, _set_in("spec.ingress", [{"ports": [{"port": "http"}]}])),
        "eligibility NetworkPolicy: a rule without `from` lets every pod in"),
    "NetworkPolicy lets every namespace in": (
        _edit("NetworkPolicy", P, lambda n: n["spec"]["ingress"][0]["from"].append(
            {"namespaceSelector": {}})),
        "prediction NetworkPolicy: lets in {'namespaceSelector': {}}"),
    "console shut out": (
        _edit("NetworkPolicy", F, lambda n: n["spec"]["ingress"][0]["from"].pop()),
        "followup NetworkPolicy: ['console'] cannot reach followup"),
    "no migration Job": (_drop("Job", f"{E}-migrate"),
                         "eligibility: no migration Job rescue-eligibility-migrate and "
                         "MIGRATE_ON_START is off"),
    "migration Job serves": (
        _in_container("prediction", _set_in("command", ["rescue-prediction", "serve"]), "Job"),
        "prediction migration Job: runs ['rescue-prediction', 'serve']"),
    "migration Job of another service": (
        _in_container("followup", _set_in("command", ["rescue-prediction", "migrate"]), "Job"),
        "followup migration Job: runs ['rescue-prediction', 'migrate']"),
    "migration Job not a hook": (
        _edit("Job", f"{R}-migrate", lambda j: j["metadata"].pop("annotations")),
        "randomization migration Job: not a pre-install,pre-upgrade hook"),
    "migration Job on another database": (
        _env("eligibility", "DATABASE_URL", {"name": "DATABASE_URL", "valueFrom": {
            "secretKeyRef": {"name": "rescue-prediction-database", "key": "DATABASE_URL"}}},
             "Job"),
        "eligibility migration Job: DATABASE_URL from ('rescue-prediction-database'"),
    "migrations on start beside the Job": (
        _env("followup", "MIGRATE_ON_START", {"name": "MIGRATE_ON_START", "value": "true"}),
        "followup Deployment: MIGRATE_ON_START on beside the migration Job"),
    "Ingress to a missing Service": (
        lambda m: m.append({"kind": "Ingress", "metadata": {"name": "x"}, "spec": {"rules": [
            {"host": "h", "http": {"paths": [{"backend": {"service": {
                "name": "rescue-elig", "port": {"name": "http"}}}}]}}]}}),
        "Ingress h: backend"),
}
if CONSOLE is not None:
    CHART_MUTATIONS |= {
        "console scaled out": (_edit("Deployment", f"{RELEASE}-console",
                                     _set_in("spec.replicas", 2)),
                               "console: 2 replicas / autoscaler"),
        "console calls a wrong address": (
            _env("console", "PREDICTION_URL", {"name": "PREDICTION_URL",
                                               "value": "http://127.0.0.1:8002"}),
            "console Deployment: PREDICTION_URL http://127.0.0.1:8002 is not the prediction"),
        "console with the local sign-in": (
            _env("console", "DEV_SIGN_IN", {"name": "DEV_SIGN_IN", "value": "true"}),
            "console Deployment: DEV_SIGN_IN is on"),
    }


@pytest.mark.parametrize("mutation", list(CHART_MUTATIONS), ids=list(CHART_MUTATIONS))
def test_chart_checks_catch(mutation: str) -> None:
    mutate, expected = CHART_MUTATIONS[mutation]
    manifests = render()
    mutate(manifests)
    problems = chart_problems(manifests)
    assert any(expected in problem for problem in problems), (expected, problems)
