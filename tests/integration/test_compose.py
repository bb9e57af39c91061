"""deploy/docker-compose.yml and deploy/Dockerfile, checked against the code.

Nothing here starts a container: the checks read the compose file, the Dockerfile, the postgres
init script and deploy/local/kafka.sh, and compare them with what the code declares (settings
classes and their defaults, service definitions and routes, console scripts in pyproject.toml).
The one Dockerfile builds every service from the build arguments SERVICE and PORT: for each
service it is resolved with that service's compose build args (ARG and ${VAR} substitutions as the
builder, the build's shell and the container's shell would make them) and then checked like a
Dockerfile of its own. `compose_problems` / `dockerfile_problems` return every mismatch as text;
the tests at the end also feed them deliberately broken copies to show that each check can fail.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from pydantic import ValidationError
from settings_env import settings_env_names, settings_from_env
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_eligibility.settings import EligibilitySettings
from rescue_followup.app import DEFINITION as FOLLOWUP
from rescue_followup.settings import FollowupSettings
from rescue_prediction.app import DEFINITION as PREDICTION
from rescue_prediction.settings import PredictionSettings
from rescue_randomization.app import DEFINITION as RANDOMIZATION
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.service import ServiceDefinition, create_service_app
from rescue_shared.settings import LOCAL_DEV_JWT_SECRET, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "deploy" / "docker-compose.yml"
GATEWAY_CONF = REPO / "deploy" / "gateway" / "nginx.conf"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
INIT_SQL = REPO / "deploy" / "postgres" / "init-databases.sql"
KAFKA_SCRIPT = REPO / "deploy" / "local" / "kafka.sh"

KAFKA = "kafka"  # compose service names of the infrastructure the services depend on
POSTGRES = "postgres"
GATEWAY = "gateway"  # the one service publishing host ports, in front of every replica
ASYNC_POSTGRES_DRIVER = "postgresql+asyncpg"
# Variables the compose file needs from its caller; none of these secrets has a default.
CALLER_ENV = {"JWT_SECRET": "compose-test-secret",
              "ELIGIBILITY_DB_PASSWORD": "eligibility-pw",
              "PREDICTION_DB_PASSWORD": "prediction-pw",
              "RANDOMIZATION_DB_PASSWORD": "randomization-pw",
              "FOLLOWUP_DB_PASSWORD": "followup-pw"}


@dataclass(frozen=True)
class Service:
    definition: ServiceDefinition
    settings: type[ServiceSettings]

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def package(self) -> str:
        return self.settings.__module__.split(".")[0]

    @property
    def port(self) -> int:
        return int(self.settings.model_fields["port"].default)


SERVICES = (
    Service(ELIGIBILITY, EligibilitySettings),
    Service(PREDICTION, PredictionSettings),
    Service(RANDOMIZATION, RandomizationSettings),
    Service(FOLLOWUP, FollowupSettings),
)


# --------------------------------------------------------------------------------------------
# What the code knows
# --------------------------------------------------------------------------------------------
@functools.cache
def get_routes(name: str) -> frozenset[str]:
    """Paths the service's app answers with GET (the app is built, never started)."""
    service = next(service for service in SERVICES if service.name == name)
    app = create_service_app(service.definition,
                             settings_from_env(service.settings, {"RESCUE_ENV": "development"}))
    return frozenset(path for path, operations in app.openapi()["paths"].items()
                     if "get" in operations)


def created_databases(sql: str) -> set[str]:
    sql = re.sub(r"/\*.*?\*/", "", re.sub(r"--[^\n]*", "", sql), flags=re.S)
    found = re.finditer(r'\bCREATE\s+DATABASE\s+(?:"([^"]+)"|([A-Za-z_]\w*))', sql, re.I)
    # Unquoted identifiers are folded to lower case by PostgreSQL.
    return {m.group(1) or m.group(2).lower() for m in found}


def database_owners(sql: str) -> dict[str, str]:
    """Database -> the role it is created for (`CREATE DATABASE x OWNER role`)."""
    sql = re.sub(r"--[^\n]*", "", sql)
    found = re.finditer(r"\bCREATE\s+DATABASE\s+([A-Za-z_]\w*)\s+(?:WITH\s+)?OWNER\s*=?\s*"
                        r"([A-Za-z_]\w*)", sql, re.I)
    return {m[1].lower(): m[2].lower() for m in found}


def role_password_variables(sql: str) -> dict[str, str]:
    """Login role -> the environment variable its password comes from (psql's \\getenv)."""
    sql = re.sub(r"--[^\n]*", "", sql)
    variables = dict(re.findall(r"^\\getenv\s+(\w+)\s+(\w+)", sql, re.M))
    roles = re.finditer(r"\bCREATE\s+ROLE\s+([A-Za-z_]\w*)\b[^;]*?PASSWORD\s+:'(\w+)'",
                        sql, re.I)
    return {m[1].lower(): variables.get(m[2], f"<{m[2]} not read by \\getenv>") for m in roles}


def kafka_version_of_local_broker(script: str) -> str:
    versions = re.findall(
        r"""^\s*(?:(?:readonly|export|declare\s+-\w+)\s+)*KAFKA_VERSION=["']?([0-9][\w.\-]*)""",
        script, re.M)
    assert len(set(versions)) == 1, f"expected one KAFKA_VERSION in {KAFKA_SCRIPT}: {versions}"
    return versions[0]


# --------------------------------------------------------------------------------------------
# Compose file mechanics: variable interpolation, environment, ports, listeners
# --------------------------------------------------------------------------------------------
class InterpolationError(ValueError):
    pass


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_]\w*))"
)


# The same forms as the Dockerfile builder and sh expand them: `\$` is the escape, not `$$`.
_SHELL_VARIABLE = re.compile(
    r"\\(?P<escaped>\$)"
    r"|\$(?:\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_]\w*))"
)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:?error}`, `${VAR:+alt}`, `$$`."""
    return _substitute(_VARIABLE, value, env)


def expand(value: str, env: Mapping[str, str]) -> str:
    """`value` as a Dockerfile instruction or sh expands it; unset variables are empty."""
    return _substitute(_SHELL_VARIABLE, value, env)


def _substitute(pattern: re.Pattern[str], value: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["braced"] or match["named"], match["op"], match["arg"] or ""
        current = env.get(name)
        missing = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-"):
            return arg if missing else str(current)
        if op in (":?", "?"):
            if missing:
                raise InterpolationError(f"{name} is required: {arg}".rstrip(": "))
            return str(current)
        if op in (":+", "+"):
            return "" if missing else arg
        return current or ""

    return pattern.sub(replace, value)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(value, env) for value in node]
    return node


def _env_value(value: Any) -> str | None:
    if value is None:
        return None  # passed through from the caller's environment
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def environment_of(service: Mapping[str, Any]) -> dict[str, str | None]:
    return mapping_of(service.get("environment"))


def build_args_of(build: Mapping[str, Any]) -> dict[str, str]:
    """The build arguments compose passes (`args` as a mapping or a list of KEY=VALUE)."""
    return {key: value for key, value in mapping_of(build.get("args")).items()
            if value is not None}


def mapping_of(environment: Any) -> dict[str, str | None]:
    """Compose's list-or-mapping syntax (environment, build args) as a mapping; None: unset."""
    environment = environment or {}
    if isinstance(environment, dict):
        return {str(key): _env_value(value) for key, value in environment.items()}
    pairs = (item.split("=", 1) for item in environment)
    return {pair[0]: pair[1] if len(pair) == 2 else None for pair in pairs}


def port_mappings(service: Mapping[str, Any]) -> list[tuple[int | None, int]]:
    """(published, container) pairs of the service's `ports`."""
    mappings: list[tuple[int | None, int]] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            mappings.append((int(published) if published else None, int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        container = int(parts[-1])
        mappings.append((int(parts[-2]) if len(parts) >= 2 and parts[-2] else None, container))
    return mappings


def listeners(value: str) -> list[tuple[str, str, int]]:
    """(name, host, port) of a Kafka listener list such as `PLAINTEXT://kafka:9092,...`."""
    parsed = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        match = re.fullmatch(r"([A-Za-z_][\w]*)://(\[[^\]]*\]|[^:/]*):(\d+)", item)
        if match is None:
            raise ValueError(f"not a listener: {item!r}")
        parsed.append((match[1], match[2], int(match[3])))
    return parsed


def healthcheck_problems(name: str, service: Mapping[str, Any]) -> list[str]:
    healthcheck = service.get("healthcheck")
    if not healthcheck:
        return [f"{name}: no healthcheck"]
    test = healthcheck.get("test")
    if healthcheck.get("disable") or not test or test == ["NONE"]:
        return [f"{name}: healthcheck disabled"]
    return []


def healthcheck_command(service: Mapping[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


# --------------------------------------------------------------------------------------------
# The Dockerfile
# --------------------------------------------------------------------------------------------
# Instructions whose arguments the builder expands itself, with the stage's ARG and ENV values.
# RUN is expanded by the build's shell (the same values, from its environment); CMD, ENTRYPOINT
# and HEALTHCHECK only in the container, from ENV values alone: build arguments are gone by then.
_BUILDER_EXPANDED = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER",
                               "VOLUME", "WORKDIR", "ONBUILD"})
_SHELLS = frozenset({"sh", "/bin/sh", "bash", "/bin/bash"})
_PIP_OPTIONS_WITH_VALUE = frozenset({"-c", "--constraint", "-r", "--requirement", "-i",
                                     "--index-url", "--extra-index-url", "-f", "--find-links"})


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _assignments(arguments: str, keyword: str = "ENV") -> list[tuple[str, str | None]]:
    """(name, value) of `ENV`/`ARG` arguments; value None: `ARG NAME` without a default."""
    tokens = shlex.split(arguments)
    if keyword == "ENV" and tokens and "=" not in tokens[0]:  # legacy `ENV KEY value`
        return [(tokens[0], " ".join(tokens[1:]))]
    pairs = [token.partition("=") for token in tokens]
    return [(name, value if equals else None) for name, equals, value in pairs]


def resolve_dockerfile(text: str, build_args: Mapping[str, str]) -> list[tuple[str, str]]:
    """The instructions as a build with `build_args` runs them, variables substituted.

    ARG scoping as Docker's: ARGs before the first FROM are visible to FROM only, unless a stage
    declares them again; a stage's `ARG NAME[=default]` takes the build arg, else its default; ENV
    overrides ARG. Variables of the base images are unknown here and expand to nothing. Raises
    InterpolationError where the build stops on a `${VAR:?message}` (the way to require an ARG).
    """
    resolved: list[tuple[str, str]] = []
    global_args: dict[str, str | None] = {}
    args: dict[str, str] = {}
    env: dict[str, str] = {}
    in_stage = False
    for keyword, arguments in dockerfile_instructions(text):
        variables = {**args, **env}
        if keyword == "FROM":
            in_stage, args, env = True, {}, {}
            visible = {name: value for name, value in global_args.items() if value is not None}
            arguments = expand(arguments, visible)
        elif keyword == "ARG":
            for name, default in _assignments(arguments, keyword):
                if default is not None:
                    default = expand(default, variables)
                elif in_stage:
                    default = global_args.get(name)
                value = build_args.get(name, default)
                if not in_stage:
                    global_args[name] = value
                elif value is not None:
                    args[name] = value
        elif keyword == "ENV":
            assignments = [(name, expand(value or "", variables))
                           for name, value in _assignments(arguments)]
            env.update(assignments)
            arguments = " ".join(f"{name}={shlex.quote(value)}" for name, value in assignments)
        elif keyword in _BUILDER_EXPANDED or keyword == "RUN":
            arguments = expand(arguments, variables)
        resolved.append((keyword, arguments))
    return resolved


def required_build_args(text: str) -> list[str]:
    """ARGs declared without a default anywhere: the build must not run without them."""
    return sorted({name for keyword, arguments in dockerfile_instructions(text) if keyword == "ARG"
                   for name, default in _assignments(arguments, keyword) if default is None})


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    return instructions[starts[-1]:] if starts else []


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            env.update((name, value or "") for name, value in _assignments(arguments))
    return env


def _without_options(arguments: str) -> list[str]:
    return [token for token in shlex.split(arguments) if not token.startswith("--")]


def _exec_form(arguments: str) -> list[str] | None:
    try:
        command = json.loads(arguments)
    except json.JSONDecodeError:
        return None
    if not isinstance(command, list) or not command or not all(
            isinstance(word, str) for word in command):
        return None
    return command


def container_command(runtime: list[tuple[str, str]]) -> tuple[list[str] | None, str | None]:
    """The command PID 1 runs, with a `sh -c` script expanded from the image's ENV; and why that
    command is wrong for a server (not exec form, or a shell that stays PID 1), if it is."""
    commands = [arguments for keyword, arguments in runtime if keyword == "CMD"]
    command = _exec_form(commands[-1]) if commands else None
    if command is None:
        return None, f"CMD missing or not in exec (JSON) form: {commands}"
    if len(command) != 3 or command[0] not in _SHELLS or command[1] != "-c":
        return command, None
    try:
        words = shlex.split(expand(command[2], dockerfile_env(runtime)))
    except (InterpolationError, ValueError) as error:
        return None, f"CMD {command} fails in the container: {error}"
    if words[:1] != ["exec"]:
        return words, (f"CMD {command} without exec: the shell stays PID 1 and the server does "
                       "not get SIGTERM")
    return words[1:], None


def healthcheck_port(arguments: str, env: Mapping[str, str]) -> int | None:
    """The port a HEALTHCHECK probes /healthz on: written in its URL, or read from $PORT."""
    _, _, command_text = arguments.partition("CMD")
    command = _exec_form(command_text.strip()) or ["sh", "-c", command_text.strip()]
    if len(command) == 3 and command[0] in _SHELLS and command[1] == "-c":
        try:
            command = [expand(command[2], env)]
        except InterpolationError:
            return None
    probe = " ".join(command)
    if "/healthz" not in probe:
        return None
    if literal := re.search(r"//(?:127\.0\.0\.1|localhost):(\d+)/healthz", probe):
        return int(literal[1])
    if re.search(r"""os\.environ(?:\.get\(|\[)\s*['"]PORT['"]""", probe):
        return int(env["PORT"]) if env.get("PORT", "").isdigit() else None
    return None


def installed_projects(instructions: list[tuple[str, str]], context: Path) -> list[dict[str, Any]]:
    """[project] tables of the build context's projects that `pip install` installs.

    The builder copies them to the same relative paths, so `./services/x` is context/services/x.
    """
    projects = []
    for keyword, arguments in instructions:
        if keyword != "RUN" or "pip install" not in arguments:
            continue
        tokens = shlex.split(arguments)
        start = next(i + 1 for i, token in enumerate(tokens)
                     if token == "install" and i and tokens[i - 1].endswith(("pip", "pip3")))
        takes_value = False
        for token in tokens[start:]:
            if token in ("&&", "||", ";", "|"):
                break
            if takes_value or token.startswith("-"):
                takes_value = not takes_value and token in _PIP_OPTIONS_WITH_VALUE
                continue
            pyproject = context / token / "pyproject.toml"
            if pyproject.is_file():
                projects.append(tomllib.loads(pyproject.read_text())["project"])
    return projects


def dockerfile_problems(service: Service, text: str, context: Path,
                        build_args: Mapping[str, str]) -> list[str]:
    """Problems of the image that `text` builds for `service` with `build_args`."""
    name = service.name
    try:
        instructions = resolve_dockerfile(text, build_args)
    except InterpolationError as error:
        return [f"{name}: the build fails: {error}"]
    problems: list[str] = []
    for required in required_build_args(text):
        without = {key: value for key, value in build_args.items() if key != required}
        try:
            resolve_dockerfile(text, without)
        except InterpolationError as error:
            if str(error).startswith(f"{required} "):
                continue
        problems.append(f"{name}: the build does not fail without build arg {required} "
                        f"(no `${{{required}:?...}}` in a RUN)")

    runtime = final_stage(instructions)
    if len([keyword for keyword, _ in instructions if keyword == "FROM"]) < 2:
        problems.append(f"{name}: Dockerfile is not multi-stage")

    projects = installed_projects(instructions, context)
    if not projects:
        problems.append(f"{name}: `pip install` installs no project of the build context")
    scripts = {script: target for project in projects
               for script, target in project.get("scripts", {}).items()}
    requires_python = SpecifierSet(",".join(project.get("requires-python", "")
                                            for project in projects))
    for keyword, arguments in instructions:
        if keyword == "FROM":
            image = _without_options(arguments)[0]
            repository, _, tag = image.partition(":")
            if repository.split("/")[-1] == "python" and not requires_python.contains(
                    tag.split("-")[0]):
                problems.append(f"{name}: base image {image} outside requires-python "
                                f"{requires_python}")
        elif keyword in ("COPY", "ADD") and "--from=" not in arguments:
            for source in _without_options(arguments)[:-1]:
                if not (context / source).exists():
                    problems.append(f"{name}: COPY source {source} not in build context {context}")
    installs = [arguments for keyword, arguments in instructions
                if keyword == "RUN" and "pip install" in arguments]
    if not any("constraints.txt" in arguments for arguments in installs):
        problems.append(f"{name}: no `pip install -c constraints.txt` in the Dockerfile")
    if any({"-e", "--editable"} & set(shlex.split(arguments)) for arguments in installs):
        problems.append(f"{name}: editable install in the image")

    users = [arguments for keyword, arguments in runtime if keyword == "USER"]
    if not users:
        problems.append(f"{name}: runtime stage has no USER (runs as root)")
    elif users[-1].split(":")[0] in ("root", "0", ""):
        problems.append(f"{name}: runtime stage runs as root (USER {users[-1]})")

    try:
        exposed = {int(token.split("/")[0]) for keyword, arguments in runtime
                   if keyword == "EXPOSE" for token in arguments.split()}
    except ValueError:
        exposed = set()
    if exposed != {service.port}:
        exposes = [arguments for keyword, arguments in runtime if keyword == "EXPOSE"]
        problems.append(f"{name}: EXPOSE {sorted(exposed) or exposes} != settings port "
                        f"{service.port}")
    env = dockerfile_env(runtime)
    if env.get("PORT") != str(service.port):
        problems.append(f"{name}: ENV PORT={env.get('PORT')} != settings port {service.port}")

    healthchecks = [arguments for keyword, arguments in runtime if keyword == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].upper() == "NONE":
        problems.append(f"{name}: Dockerfile has no HEALTHCHECK")
    elif "python" not in healthchecks[-1] or healthcheck_port(healthchecks[-1],
                                                               env) != service.port:
        problems.append(f"{name}: HEALTHCHECK does not probe /healthz on {service.port} "
                        f"with python: {healthchecks[-1]}")

    command, problem = container_command(runtime)
    if problem is not None:
        problems.append(f"{name}: {problem}")
    if command and command[0] not in scripts:
        problems.append(f"{name}: CMD runs {command[0]!r}, not a console script of the "
                        f"installed projects ({sorted(scripts)})")
    elif command:
        if not scripts[command[0]].startswith(f"{service.package}."):
            problems.append(f"{name}: console script {command[0]} = {scripts[command[0]]} is "
                            f"not in {service.package}")
        if command[1:] != ["serve"]:
            problems.append(f"{name}: CMD arguments {command[1:]} != ['serve']")
    return problems


# --------------------------------------------------------------------------------------------
# The compose file
# --------------------------------------------------------------------------------------------
def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _kafka_problems(kafka: Mapping[str, Any] | None) -> tuple[list[str], set[tuple[str, int]]]:
    """Problems of the broker service, and the (host, port) clients may bootstrap from."""
    if kafka is None:
        return [f"{KAFKA}: service missing"], set()
    problems = healthcheck_problems(KAFKA, kafka)
    image = str(kafka.get("image", ""))
    repository, _, tag = image.rpartition(":")
    expected = kafka_version_of_local_broker(KAFKA_SCRIPT.read_text())
    if repository != "apache/kafka" or tag != expected:
        problems.append(f"{KAFKA}: image {image} != apache/kafka:{expected} "
                        f"(KAFKA_VERSION in {KAFKA_SCRIPT.relative_to(REPO)})")
    env = environment_of(kafka)
    required = ("KAFKA_NODE_ID", "KAFKA_PROCESS_ROLES", "KAFKA_LISTENERS",
                "KAFKA_ADVERTISED_LISTENERS", "KAFKA_CONTROLLER_LISTENER_NAMES",
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "KAFKA_CONTROLLER_QUORUM_VOTERS")
    if missing := [key for key in required if not env.get(key)]:
        return [*problems, f"{KAFKA}: KRaft settings missing: {missing}"], set()
    if set(str(env["KAFKA_PROCESS_ROLES"]).split(",")) != {"broker", "controller"}:
        problems.append(f"{KAFKA}: KAFKA_PROCESS_ROLES={env['KAFKA_PROCESS_ROLES']} is not a "
                        "combined broker,controller node")
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        if env.get(key) != "1":
            problems.append(f"{KAFKA}: {key}={env.get(key)} (a single node needs 1)")
    controller_names = set(str(env["KAFKA_CONTROLLER_LISTENER_NAMES"]).split(","))
    protocol_names = {item.split(":")[0]
                      for item in str(env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]).split(",")}
    try:
        bound = listeners(str(env["KAFKA_LISTENERS"]))
        advertised = listeners(str(env["KAFKA_ADVERTISED_LISTENERS"]))
    except ValueError as error:
        return [*problems, f"{KAFKA}: {error}"], set()
    if unmapped := {listener[0] for listener in bound + advertised} - protocol_names:
        problems.append(f"{KAFKA}: listeners {sorted(unmapped)} not in the protocol map")
    if not controller_names <= {listener[0] for listener in bound}:
        problems.append(f"{KAFKA}: controller listener {sorted(controller_names)} not bound")
    node_id = str(env["KAFKA_NODE_ID"])
    if not any(voter.split("@")[0] == node_id
               for voter in str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]).split(",")):
        problems.append(f"{KAFKA}: node {node_id} is not in KAFKA_CONTROLLER_QUORUM_VOTERS")
    hostnames = {KAFKA, kafka.get("hostname"), kafka.get("container_name")} - {None}
    clients = {(host, port) for listener_name, host, port in advertised
               if listener_name not in controller_names and host in hostnames}
    if not clients:
        problems.append(f"{KAFKA}: no advertised listener on the service name for containers")
    return problems, clients


def _postgres_problems(postgres: Mapping[str, Any] | None) -> list[str]:
    if postgres is None:
        return [f"{POSTGRES}: service missing"]
    problems = healthcheck_problems(POSTGRES, postgres)
    if not str(postgres.get("image", "")).startswith("postgres:"):
        problems.append(f"{POSTGRES}: image {postgres.get('image')} is not postgres")
    if "pg_isready" not in healthcheck_command(postgres):
        problems.append(f"{POSTGRES}: healthcheck does not use pg_isready")
    mounts = [str(volume).split(":") for volume in postgres.get("volumes") or []]
    if not any(len(mount) >= 2 and (COMPOSE_FILE.parent / mount[0]).resolve() == INIT_SQL
               and mount[1].startswith("/docker-entrypoint-initdb.d/") for mount in mounts):
        problems.append(f"{POSTGRES}: {INIT_SQL.relative_to(REPO)} is not mounted into "
                        "/docker-entrypoint-initdb.d/")
    environment = environment_of(postgres)
    for role, variable in role_password_variables(INIT_SQL.read_text()).items():
        if not environment.get(variable):
            problems.append(f"{POSTGRES}: {variable} (the password of role {role}, read by "
                            f"{INIT_SQL.name}) is not in its environment")
    return problems


def _service_problems(service: Service, raw: Mapping[str, Any], resolved: Mapping[str, Any],
                      kafka_clients: set[tuple[str, int]], databases: set[str],
                      compose_services: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """Problems of one application service, and the database it uses."""
    name = service.name
    problems = healthcheck_problems(name, resolved)

    # Image: build context, Dockerfile and the build args that make it this service's image.
    build = resolved.get("build")
    dockerfile_env_values: dict[str, str] = {}
    if not isinstance(build, dict) or "context" not in build or "dockerfile" not in build:
        problems.append(f"{name}: build needs context and dockerfile, got {build!r}")
    else:
        context = (COMPOSE_FILE.parent / build["context"]).resolve()
        dockerfile = context / build["dockerfile"]
        build_args = build_args_of(build)
        service_arg, port_arg = build_args.get("SERVICE"), build_args.get("PORT")
        if service_arg != name:
            problems.append(f"{name}: build arg SERVICE={service_arg} != {name} (the image "
                            "would not run this service)")
        project_dir = context / "services" / str(service_arg)
        package = f"rescue_{service_arg}".replace("-", "_")
        if not service_arg or not (project_dir / "pyproject.toml").is_file() or not (
                project_dir / package).is_dir():
            problems.append(f"{name}: build arg SERVICE={service_arg} names no service project "
                            f"(services/{service_arg}/ with pyproject.toml and {package}/ in "
                            f"{context})")
        if port_arg != str(service.port):
            problems.append(f"{name}: build arg PORT={port_arg} != settings port {service.port}")
        if not dockerfile.is_file():
            problems.append(f"{name}: Dockerfile {dockerfile} does not exist")
        else:
            text = dockerfile.read_text()
            problems += dockerfile_problems(service, text, context, build_args)
            with contextlib.suppress(InterpolationError):  # reported by dockerfile_problems
                runtime = final_stage(resolve_dockerfile(text, build_args))
                dockerfile_env_values = dockerfile_env(runtime)

    # Published port.
    try:
        mappings = port_mappings(resolved)
    except (ValueError, KeyError) as error:
        mappings = []
        problems.append(f"{name}: unreadable ports: {error}")
    if fixed := [published for published, _ in mappings if published is not None]:
        problems.append(f"{name}: publishes host ports {fixed}: a second replica cannot bind "
                        f"them (the {GATEWAY} publishes them)")

    # Environment: every variable is a settings field, the values validate.
    fields = settings_env_names(service.settings)
    environment = environment_of(resolved)
    if unknown := sorted(set(environment) - set(fields)):
        problems.append(f"{name}: environment variables {unknown} are not fields of "
                        f"{service.settings.__name__}")
    raw_secret = environment_of(raw).get("JWT_SECRET")
    if raw_secret is None:
        problems.append(f"{name}: JWT_SECRET not set (the default is the public local secret)")
    else:
        try:
            interpolate(raw_secret, {})
            problems.append(f"{name}: JWT_SECRET={raw_secret} has a default; it must be required")
        except InterpolationError:
            pass
    effective = {key: value for key, value in dockerfile_env_values.items() if key in fields}
    effective.update({key: value for key, value in environment.items() if value is not None})
    try:
        settings = settings_from_env(service.settings, effective)
    except ValidationError as error:
        return [*problems, f"{name}: environment rejected by {service.settings.__name__}: "
                f"{error}"], None
    if settings.service_name != name:
        problems.append(f"{name}: SERVICE_NAME {settings.service_name} != definition name")
    if settings.port != service.port:
        problems.append(f"{name}: PORT {settings.port} != settings default {service.port}")
    if settings.host != "0.0.0.0":
        problems.append(f"{name}: HOST={settings.host}: unreachable from outside the container")
    if not settings.migrate_on_start:
        problems.append(f"{name}: MIGRATE_ON_START is off")
    if settings.jwt_secret == LOCAL_DEV_JWT_SECRET:
        problems.append(f"{name}: JWT_SECRET is the public local development secret")

    # Database.
    database = None
    try:
        url = make_url(settings.database_url)
    except ArgumentError as error:
        problems.append(f"{name}: DATABASE_URL unreadable: {error}")
    else:
        database = url.database
        if url.drivername != ASYNC_POSTGRES_DRIVER:
            problems.append(f"{name}: DATABASE_URL driver {url.drivername} != "
                            f"{ASYNC_POSTGRES_DRIVER}")
        if url.host != POSTGRES or (url.port or 5432) != 5432:
            problems.append(f"{name}: DATABASE_URL host {url.host}:{url.port} is not the "
                            f"{POSTGRES} service")
        if database not in databases:
            problems.append(f"{name}: database {database} is not created by "
                            f"{INIT_SQL.relative_to(REPO)} ({sorted(databases)})")
        problems += _login_problems(name, url.username, url.password, database,
                                    compose_services.get(POSTGRES) or {})

    # Broker.
    for server in filter(None, (s.strip() for s in settings.kafka_bootstrap_servers.split(","))):
        host, _, port = server.rpartition(":")
        if (host, int(port) if port.isdigit() else -1) not in kafka_clients:
            problems.append(f"{name}: KAFKA_BOOTSTRAP_SERVERS {server} is not an advertised "
                            f"listener of {KAFKA} ({sorted(kafka_clients)})")

    # Start order, restarts, health.
    depends_on = resolved.get("depends_on") or {}
    for dependency in (KAFKA, POSTGRES):
        condition = depends_on.get(dependency, {}) if isinstance(depends_on, dict) else {}
        if (condition or {}).get("condition") != "service_healthy":
            problems.append(f"{name}: depends_on {dependency} without condition: "
                            "service_healthy")
    if unknown_dependencies := set(depends_on) - set(compose_services):
        problems.append(f"{name}: depends_on unknown services {sorted(unknown_dependencies)}")
    if resolved.get("restart") not in ("always", "unless-stopped"):
        problems.append(f"{name}: restart={resolved.get('restart')} (not restarted on failure)")
    probe = healthcheck_command(resolved)
    urls = re.findall(r"https?://[^\s'\"]+", probe)
    target = urlsplit(urls[0]) if len(urls) == 1 else None
    if target is None or "curl" in probe or "wget" in probe:
        problems.append(f"{name}: healthcheck is not one python HTTP probe: {probe!r}")
    elif (target.hostname not in ("127.0.0.1", "localhost") or target.port != settings.port
          or target.path not in get_routes(service.name)):
        problems.append(f"{name}: healthcheck probes {urls[0]}, not a GET route of the app "
                        f"on 127.0.0.1:{settings.port}")
    return problems, database


def _login_problems(name: str, user: str | None, password: str | None, database: str | None,
                    postgres: Mapping[str, Any]) -> list[str]:
    """The service logs in as the role owning its database, with the password that role got."""
    sql = INIT_SQL.read_text()
    owner = database_owners(sql).get(database or "")
    if owner is None:
        return [f"{name}: database {database} has no owner role in {INIT_SQL.name}"]
    if user != owner:
        return [f"{name}: DATABASE_URL logs in as {user}, not {owner} (the role owning "
                f"{database}; another role cannot connect to it)"]
    variable = role_password_variables(sql).get(owner, "")
    if password != environment_of(postgres).get(variable):
        return [f"{name}: DATABASE_URL password is not {variable} given to {POSTGRES} (the "
                f"password role {owner} was created with)"]
    return []


def nginx_servers(conf: str) -> dict[int, str]:
    """Listen port -> the `host:port` its proxy_pass sends to, for each server block of the
    gateway's nginx.conf; `!literal` marks a literal name (resolved once at start)."""
    conf = re.sub(r"#[^\n]*", "", conf)
    servers: dict[int, str] = {}
    for block in re.split(r"\bserver\s*\{", conf)[1:]:
        listen = re.search(r"\blisten\s+(?:[\d.]+:)?(\d+)", block)
        proxy = re.search(r"\bproxy_pass\s+https?://([^;/]+)", block)
        if listen is None or proxy is None:
            continue
        target = proxy[1]
        if target.startswith("$"):
            assigned = re.search(rf"\bset\s+\{target}\s+([^;\s]+)\s*;", block)
            target = assigned[1] if assigned else f"<{target} unset>"
        else:
            target = f"!{target}"
        servers[int(listen[1])] = target
    return servers


def _gateway_problems(gateway: Mapping[str, Any] | None, conf: str) -> list[str]:
    """The gateway publishes each service's port and spreads it over every replica."""
    if gateway is None:
        return [f"{GATEWAY}: service missing (nothing publishes the services' ports)"]
    problems = healthcheck_problems(GATEWAY, gateway)
    mounts = [str(volume).split(":") for volume in gateway.get("volumes") or []]
    if not any(len(mount) >= 2 and (COMPOSE_FILE.parent / mount[0]).resolve() == GATEWAY_CONF
               and mount[1] == "/etc/nginx/nginx.conf" for mount in mounts):
        problems.append(f"{GATEWAY}: {GATEWAY_CONF.relative_to(REPO)} is not mounted as "
                        "/etc/nginx/nginx.conf")
    if not str(gateway.get("image", "")).startswith("nginx:"):
        problems.append(f"{GATEWAY}: image {gateway.get('image')} is not nginx")
    published = set(port_mappings(gateway))
    servers = nginx_servers(conf)
    if not re.search(r"^\s*resolver\s+127\.0\.0\.11\b", conf, re.M):
        problems.append(f"{GATEWAY}: no `resolver 127.0.0.11` (Docker's DNS): replicas added "
                        "later would never be found")
    for service in SERVICES:
        if (service.port, service.port) not in published:
            problems.append(f"{GATEWAY}: does not publish {service.port}:{service.port} "
                            f"({service.name})")
        target = servers.get(service.port)
        if target != f"{service.name}:{service.port}":
            problems.append(f"{GATEWAY}: port {service.port} proxies to {target}, not "
                            f"{service.name}:{service.port} through a variable (resolved per "
                            "request, so every replica gets traffic)")
    return problems


def compose_problems(compose: Mapping[str, Any], env: Mapping[str, str],
                     gateway_conf: str | None = None) -> list[str]:
    """Every mismatch between a parsed compose file and the code, as readable lines."""
    try:
        resolved = interpolate_tree(compose, env)
    except InterpolationError as error:
        return [f"compose variables: {error}"]
    raw_services = compose.get("services") or {}
    services = resolved.get("services") or {}
    problems, kafka_clients = _kafka_problems(services.get(KAFKA))
    problems += _postgres_problems(services.get(POSTGRES))
    if gateway_conf is None:
        gateway_conf = GATEWAY_CONF.read_text()
    problems += _gateway_problems(services.get(GATEWAY), gateway_conf)
    databases = created_databases(INIT_SQL.read_text())
    used: dict[str, str] = {}
    for service in SERVICES:
        if service.name not in services:
            problems.append(f"{service.name}: service missing")
            continue
        service_problems, database = _service_problems(
            service, raw_services[service.name], services[service.name], kafka_clients,
            databases, services)
        problems += service_problems
        if database is not None and database in used:
            problems.append(f"{service.name}: database {database} shared with {used[database]}")
        elif database is not None:
            used[database] = service.name
    for name, service_config in services.items():
        if name not in {KAFKA, POSTGRES, GATEWAY} | {service.name for service in SERVICES}:
            problems += healthcheck_problems(name, service_config)
    return problems


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
def test_service_definitions_match_their_settings() -> None:
    assert len({service.name for service in SERVICES}) == len(SERVICES)
    assert len({service.port for service in SERVICES}) == len(SERVICES)
    for service in SERVICES:
        assert service.settings.model_fields["service_name"].default == service.name
        assert service.definition.migrations.startswith(f"{service.package}:")


def test_compose_and_dockerfile_match_the_code() -> None:
    assert compose_problems(load_compose(), CALLER_ENV) == []


@pytest.mark.parametrize("service", SERVICES, ids=[service.name for service in SERVICES])
def test_one_dockerfile_builds_each_service(service: Service) -> None:
    build = load_compose()["services"][service.name]["build"]
    assert (COMPOSE_FILE.parent / build["context"]).resolve() / build["dockerfile"] == DOCKERFILE
    args = build_args_of(build)
    assert args == {"SERVICE": service.name, "PORT": str(service.port)}
    instructions = resolve_dockerfile(DOCKERFILE.read_text(), args)
    runtime = final_stage(instructions)
    assert ("COPY", f"services/{service.name}/ ./services/{service.name}/") in instructions
    assert [project["name"] for project in installed_projects(instructions, REPO)] == [
        "rescue-shared", f"rescue-{service.name}"]
    assert ("EXPOSE", str(service.port)) in runtime
    assert dockerfile_env(runtime)["PORT"] == str(service.port)
    assert container_command(runtime) == ([f"rescue-{service.name}", "serve"], None)
    assert dockerfile_problems(service, DOCKERFILE.read_text(), REPO, args) == []


@pytest.mark.parametrize("missing", ["SERVICE", "PORT"])
def test_dockerfile_requires_its_build_args(missing: str) -> None:
    assert required_build_args(DOCKERFILE.read_text()) == ["PORT", "SERVICE"]
    args = {"SERVICE": "eligibility", "PORT": "8001"}
    for given in ({key: value for key, value in args.items() if key != missing},
                  {**args, missing: ""}):
        with pytest.raises(InterpolationError, match=f"^{missing} is required"):
            resolve_dockerfile(DOCKERFILE.read_text(), given)


def test_dockerfile_build_arg_guard_runs_in_sh() -> None:
    """The guard is plain sh: run it as the build would, with and without the build args."""
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no sh on this machine")
    guards = [arguments for keyword, arguments in dockerfile_instructions(DOCKERFILE.read_text())
              if keyword == "RUN" and "${SERVICE:?" in arguments]
    assert len(guards) == 1 and "pip" not in guards[0], guards

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([shell, "-c", guards[0]], capture_output=True, text=True,
                              timeout=10, env={"PATH": os.environ.get("PATH", ""), **env},
                              check=False)

    assert run(SERVICE="eligibility", PORT="8001").returncode == 0
    for env, complaint in (({"PORT": "8001"}, "SERVICE"), ({"SERVICE": "eligibility"}, "PORT"),
                           ({"SERVICE": "", "PORT": "8001"}, "SERVICE"),
                           ({"SERVICE": "eligibility", "PORT": "80o1"}, "80o1")):
        result = run(**env)
        assert result.returncode != 0 and complaint in result.stderr, (env, result)


def test_compose_requires_jwt_secret_from_the_caller() -> None:
    with pytest.raises(InterpolationError, match="JWT_SECRET"):
        interpolate_tree(load_compose(), {})


def test_init_script_creates_one_database_per_service() -> None:
    databases = created_databases(INIT_SQL.read_text())
    services = interpolate_tree(load_compose(), CALLER_ENV)["services"]
    used = {make_url(environment_of(services[s.name])["DATABASE_URL"]).database for s in SERVICES}
    assert used == databases and len(used) == len(SERVICES)


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    patterns = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    for required in (".venv", ".local", ".git"):
        assert required in patterns
    for anywhere in ("__pycache__", "*.db", ".pytest_cache", ".ruff_cache"):
        assert anywhere in patterns or f"**/{anywhere}" in patterns


# Deliberately broken copies: each check must be able to fail.
def _set_env(service: str, key: str, value: str):
    def mutate(compose: dict[str, Any]) -> None:
        compose["services"][service]["environment"][key] = value
    return mutate


def _drop_env(service: str, key: str):
    def mutate(compose: dict[str, Any]) -> None:
        compose["services"][service]["environment"].pop(key)
    return mutate


def _rename_env(service: str, old: str, new: str):
    def mutate(compose: dict[str, Any]) -> None:
        environment = compose["services"][service]["environment"]
        environment[new] = environment.pop(old)
    return mutate


def _set(path: str, value: Any):
    def mutate(compose: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = compose
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return mutate


# Each mutation: the change, and what the problems must mention (every one, when a tuple).
COMPOSE_MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str | tuple[str, ...]]] = {
    "typo in a variable name": (
        _rename_env("prediction", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVER"),
        "prediction: environment variables ['KAFKA_BOOTSTRAP_SERVER'] are not fields"),
    "value the settings reject": (_set_env("followup", "PORT", "80o4"),
                                  "followup: environment rejected by FollowupSettings"),
    "fixed host port per replica": (_set("services.randomization.ports", ["8003:8003"]),
                                    "randomization: publishes host ports [8003]"),
    "ephemeral host port with a fixed one": (
        _set("services.prediction.ports", ["8002", "9102:8002"]),
        "prediction: publishes host ports [9102]"),
    "logs in as the administrator": (
        _set_env("eligibility", "DATABASE_URL",
                 "postgresql+asyncpg://rescue:rescue@postgres:5432/rescue_eligibility"),
        "eligibility: DATABASE_URL logs in as rescue, not eligibility"),
    "logs in as another service's role": (
        _set_env("followup", "DATABASE_URL",
                 "postgresql+asyncpg://prediction:${PREDICTION_DB_PASSWORD}@postgres:5432/"
                 "rescue_followup"),
        "followup: DATABASE_URL logs in as prediction, not followup"),
    "another role's password": (
        _set_env("randomization", "DATABASE_URL",
                 "postgresql+asyncpg://randomization:${PREDICTION_DB_PASSWORD}@postgres:5432/"
                 "rescue_randomization"),
        "randomization: DATABASE_URL password is not RANDOMIZATION_DB_PASSWORD"),
    "role password not given to postgres": (
        _drop_env("postgres", "FOLLOWUP_DB_PASSWORD"),
        ("postgres: FOLLOWUP_DB_PASSWORD (the password of role followup",
         "followup: DATABASE_URL password is not FOLLOWUP_DB_PASSWORD")),
    "no gateway": (_set("services.gateway", None), "gateway: service missing"),
    "gateway leaves a port out": (
        _set("services.gateway.ports", ["8001:8001", "8002:8002", "8003:8003"]),
        "gateway: does not publish 8004:8004 (followup)"),
    "gateway config not mounted": (_set("services.gateway.volumes", []),
                                   "gateway: deploy/gateway/nginx.conf is not mounted"),
    "gateway without healthcheck": (_set("services.gateway.healthcheck", None),
                                    "gateway: no healthcheck"),
    "PORT differs from the settings": (_set_env("eligibility", "PORT", "8011"),
                                       "eligibility: PORT 8011 != settings default 8001"),
    "binds 127.0.0.1": (_set_env("eligibility", "HOST", "127.0.0.1"),
                        "eligibility: HOST=127.0.0.1: unreachable"),
    "sync driver": (
        _set_env("prediction", "DATABASE_URL", "postgresql://u:p@postgres:5432/rescue_prediction"),
        "prediction: DATABASE_URL driver postgresql !="),
    "database not created": (
        _set_env("followup", "DATABASE_URL",
                 "postgresql+asyncpg://u:p@postgres:5432/rescue_follow_up"),
        "followup: database rescue_follow_up is not created"),
    "two services share a database": (
        _set_env("followup", "DATABASE_URL",
                 "postgresql+asyncpg://u:p@postgres:5432/rescue_prediction"),
        "followup: database rescue_prediction shared with prediction"),
    "broker address of the host": (_set_env("eligibility", "KAFKA_BOOTSTRAP_SERVERS",
                                            "localhost:9092"),
                                   "eligibility: KAFKA_BOOTSTRAP_SERVERS localhost:9092"),
    "default JWT secret": (_set_env("randomization", "JWT_SECRET", "${JWT_SECRET:-changeme}"),
                           "randomization: JWT_SECRET=${JWT_SECRET:-changeme} has a default"),
    "no JWT secret": (_drop_env("randomization", "JWT_SECRET"),
                      "randomization: JWT_SECRET not set"),
    "started, not healthy": (_set("services.prediction.depends_on.kafka",
                                  {"condition": "service_started"}),
                             "prediction: depends_on kafka without condition"),
    "no depends_on postgres": (_set("services.followup.depends_on.postgres", None),
                               "followup: depends_on postgres"),
    "infra without healthcheck": (_set("services.postgres.healthcheck", None),
                                  "postgres: no healthcheck"),
    "service without healthcheck": (_set("services.eligibility.healthcheck", None),
                                    "eligibility: no healthcheck"),
    "healthcheck on the wrong port": (
        _set("services.prediction.healthcheck.test",
             ["CMD", "python", "-c", "import urllib.request; "
              "urllib.request.urlopen('http://127.0.0.1:8001/healthz')"]),
        "prediction: healthcheck probes http://127.0.0.1:8001/healthz"),
    "healthcheck on a missing route": (
        _set("services.prediction.healthcheck.test",
             ["CMD", "python", "-c", "import urllib.request; "
              "urllib.request.urlopen('http://127.0.0.1:8002/health')"]),
        "prediction: healthcheck probes http://127.0.0.1:8002/health,"),
    "kafka version differs from the local broker": (
        _set("services.kafka.image", "apache/kafka:3.8.0"), "kafka: image apache/kafka:3.8.0"),
    "kafka advertises localhost": (
        _set("services.kafka.environment.KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://localhost:9092"),
        "kafka: no advertised listener on the service name"),
    "missing service": (_set("services.followup", None), "followup: service missing"),
    "wrong build context": (_set("services.eligibility.build.context", "."),
                            "eligibility: Dockerfile"),
    "stale per-service Dockerfile": (
        _set("services.eligibility.build.dockerfile", "services/eligibility/Dockerfile"),
        f"eligibility: Dockerfile {REPO}/services/eligibility/Dockerfile does not exist"),
    "another service's build args": (
        _set("services.eligibility.build.args", {"SERVICE": "prediction", "PORT": 8002}),
        ("eligibility: build arg SERVICE=prediction != eligibility",
         "eligibility: build arg PORT=8002 != settings port 8001",
         "eligibility: console script rescue-prediction = rescue_prediction.__main__:main is "
         "not in rescue_eligibility",
         "eligibility: EXPOSE [8002] != settings port 8001")),
    "unknown SERVICE build arg": (
        _set("services.followup.build.args.SERVICE", "follow-up"),
        ("followup: build arg SERVICE=follow-up names no service project",
         "followup: COPY source services/follow-up/ not in build context")),
    "no SERVICE build arg": (_set("services.randomization.build.args.SERVICE", None),
                             ("randomization: build arg SERVICE=None != randomization",
                              "randomization: the build fails: SERVICE is required")),
    "wrong PORT build arg": (
        _set("services.prediction.build.args.PORT", 8001),
        ("prediction: build arg PORT=8001 != settings port 8002",
         "prediction: EXPOSE [8001] != settings port 8002",
         "prediction: ENV PORT=8001 != settings port 8002",
         "prediction: HEALTHCHECK does not probe /healthz on 8002")),
    "no build args": (_set("services.followup.build.args", None),
                      ("followup: build arg PORT=None", "followup: the build fails")),
    "init script not mounted": (_set("services.postgres.volumes", []),
                                "postgres: deploy/postgres/init-databases.sql is not mounted"),
}


@pytest.mark.parametrize("mutation", list(COMPOSE_MUTATIONS), ids=list(COMPOSE_MUTATIONS))
def test_compose_checks_catch(mutation: str) -> None:
    mutate, expected = COMPOSE_MUTATIONS[mutation]
    compose = copy.deepcopy(load_compose())
    mutate(compose)
    problems = compose_problems(compose, CALLER_ENV)
    for each in (expected,) if isinstance(expected, str) else expected:
        assert any(each in problem for problem in problems), (each, problems)


GATEWAY_MUTATIONS: dict[str, tuple[str, str, str]] = {
    "literal name, resolved once": (
        "set $prediction prediction:8002;\n      proxy_pass http://$prediction;",
        "proxy_pass http://prediction:8002;", "gateway: port 8002 proxies to !prediction:8002"),
    "port to another service": ("set $followup followup:8004", "set $followup randomization:8003",
                                "gateway: port 8004 proxies to randomization:8003"),
    "no resolver": ("resolver 127.0.0.11", "# resolver 127.0.0.11",
                    "gateway: no `resolver 127.0.0.11`"),
    "listens elsewhere": ("listen 8001;", "listen 8011;", "gateway: port 8001 proxies to None"),
}


@pytest.mark.parametrize("mutation", list(GATEWAY_MUTATIONS), ids=list(GATEWAY_MUTATIONS))
def test_gateway_checks_catch(mutation: str) -> None:
    old, new, expected = GATEWAY_MUTATIONS[mutation]
    conf = GATEWAY_CONF.read_text()
    assert old in conf, f"mutation {mutation!r} no longer applies to {GATEWAY_CONF.name}"
    problems = compose_problems(load_compose(), CALLER_ENV, conf.replace(old, new))
    assert any(expected in problem for problem in problems), problems


def test_gateway_config_is_valid_nginx(tmp_path: Path) -> None:
    """`nginx -t` on the gateway's file, where nginx is installed (the image's is newer)."""
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None:
        pytest.skip("no nginx on this machine")
    broken = tmp_path / "broken.conf"
    broken.write_text(GATEWAY_CONF.read_text().replace("listen 8001;", "listen 8001"))
    for conf, valid in ((GATEWAY_CONF, True), (broken, False)):
        result = subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-e", "/dev/stderr",
                                 "-p", str(tmp_path)], capture_output=True, text=True,
                                timeout=30, check=False)
        assert (result.returncode == 0) is valid, result.stderr


DOCKERFILE_MUTATIONS: dict[str, tuple[str, str, str]] = {
    "root user": ("USER 10001:10001", "USER root", "eligibility: runtime stage runs as root"),
    "no user": ("USER 10001:10001", "", "eligibility: runtime stage has no USER"),
    "typo in the console script": ("exec rescue-$SERVICE serve", "exec rescue_$SERVICE serve",
                                   "eligibility: CMD runs 'rescue_eligibility'"),
    "SERVICE only a build arg, gone at run time": (
        " \\\n    SERVICE=${SERVICE}\n", "\n", "eligibility: CMD runs 'rescue-'"),
    "shell-form CMD": ('CMD ["sh", "-c", "exec rescue-$SERVICE serve"]',
                       "CMD rescue-$SERVICE serve",
                       "eligibility: CMD missing or not in exec (JSON) form"),
    "sh -c without exec": ('"exec rescue-$SERVICE serve"', '"rescue-$SERVICE serve"',
                           "without exec: the shell stays PID 1"),
    "one service hard-coded in CMD": ("exec rescue-$SERVICE serve", "exec rescue-prediction serve",
                                      "eligibility: CMD runs 'rescue-prediction', not a console"),
    "CMD runs a shared tool": ("exec rescue-$SERVICE serve", "exec rescue-token serve",
                               "eligibility: console script rescue-token = "
                               "rescue_shared.auth.mint:main is not in rescue_eligibility"),
    "one service hard-coded in pip install": (
        "./shared ./services/${SERVICE}", "./shared ./services/prediction",
        "eligibility: CMD runs 'rescue-eligibility', not a console script of the installed"),
    "EXPOSE a fixed port": ("EXPOSE ${PORT}", "EXPOSE 8000", "eligibility: EXPOSE [8000]"),
    "ENV PORT fixed": ("PORT=${PORT}", "PORT=8000", "eligibility: ENV PORT=8000"),
    "PORT only a build arg": ("PORT=${PORT} \\", "\\", "eligibility: ENV PORT=None"),
    "no healthcheck": ("HEALTHCHECK", "# HEALTHCHECK",
                       "eligibility: Dockerfile has no HEALTHCHECK"),
    "healthcheck on a fixed port": ("os.environ['PORT']", "'8002'",
                                    "eligibility: HEALTHCHECK does not probe /healthz on 8001"),
    "healthcheck on another path": ("'/healthz'", "'/health'",
                                    "eligibility: HEALTHCHECK does not probe /healthz on 8001"),
    "missing COPY source": ("COPY shared/", "COPY shared-lib/",
                            "eligibility: COPY source shared-lib/ not in build context"),
    "no constraints": ("-c constraints.txt", "", "eligibility: no `pip install -c constraints"),
    "editable install": ("./services/${SERVICE}\n", "-e ./services/${SERVICE}\n",
                         "eligibility: editable install"),
    "python outside requires-python": ("python:3.11-slim AS runtime", "python:3.12-slim AS runtime",
                                       "eligibility: base image python:3.12-slim"),
    "single stage": ("FROM python:3.11-slim AS runtime", "",
                     "eligibility: Dockerfile is not multi-stage"),
    "SERVICE not required": ('RUN : "${SERVICE:?', 'RUN : "${SERVICE:-',
                             "eligibility: the build does not fail without build arg SERVICE"),
    "PORT not required": ('&& : "${PORT:?', '&& : "${PORT:-',
                          "eligibility: the build does not fail without build arg PORT"),
}


@pytest.mark.parametrize("mutation", list(DOCKERFILE_MUTATIONS), ids=list(DOCKERFILE_MUTATIONS))
def test_dockerfile_checks_catch(mutation: str) -> None:
    old, new, expected = DOCKERFILE_MUTATIONS[mutation]
    service = SERVICES[0]
    args = {"SERVICE": service.name, "PORT": str(service.port)}
    text = DOCKERFILE.read_text()
    assert old in text, f"mutation {mutation!r} no longer applies to the Dockerfile"
    assert dockerfile_problems(service, text, REPO, args) == []
    problems = dockerfile_problems(service, text.replace(old, new), REPO, args)
    assert any(expected in problem for problem in problems), problems


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on this machine")
    try:
        version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True,
                                 timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"`docker compose version` did not run: {error}")
    if version.returncode != 0:
        reason = (version.stderr or version.stdout).strip().splitlines()
        pytest.skip(f"`docker compose version` failed ({reason[0] if reason else 'no output'}): "
                    "the Compose plugin is not installed here")
    env = {**os.environ, **CALLER_ENV}
    command = [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env,
                            cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    if not (COMPOSE_FILE.parent / ".env").exists():
        env.pop("JWT_SECRET")
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env,
                                cwd=REPO, check=False)
        assert result.returncode != 0 and "JWT_SECRET" in result.stderr
