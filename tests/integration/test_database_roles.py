"""deploy/postgres/init-databases.sql on a real PostgreSQL: each service's role owns its database,
runs its migrations there, and cannot connect to another service's database.

The script runs with psql as the postgres image's entrypoint runs it (ON_ERROR_STOP, the
passwords in the environment), on TEST_DATABASE_URL's server. Roles and databases are
cluster-wide, so their names get a suffix of this test's own (apart from the local cluster's
rescue_* databases and from any other run) and are dropped afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import glob
import hashlib
import hmac
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_followup.app import DEFINITION as FOLLOWUP
from rescue_prediction.app import DEFINITION as PREDICTION
from rescue_randomization.app import DEFINITION as RANDOMIZATION
from rescue_shared.db.migrations import upgrade_to_head
from rescue_shared.service import ServiceDefinition

INIT_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "init-databases.sql"
DEFINITIONS = {d.name: d for d in (ELIGIBILITY, PREDICTION, RANDOMIZATION, FOLLOWUP)}

pytestmark = pytest.mark.integration


def psql_binary() -> str:
    """psql 15 or later (the script reads its passwords with \\getenv)."""
    candidates = [shutil.which("psql"),
                  *sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), reverse=True)]
    for candidate in filter(None, candidates):
        version = subprocess.run([candidate, "--version"], capture_output=True, text=True,
                                 check=False).stdout
        if (found := re.search(r"(\d+)\.", version)) and int(found[1]) >= 15:
            return candidate
    pytest.skip("no psql 15 or later on this machine")


def roles_and_databases(sql: str) -> tuple[list[str], list[str]]:
    code = re.sub(r"--[^\n]*", "", sql)
    roles = re.findall(r"\bCREATE\s+ROLE\s+([a-z_]\w*)", code)
    databases = re.findall(r"\bCREATE\s+DATABASE\s+([a-z_]\w*)", code)
    return roles, databases


def scram_matches(verifier: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier of pg_authid was made from `password` (RFC 5802)."""
    match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier or "")
    if match is None:
        return False
    iterations, salt, stored_key, server_key = match.groups()
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                 int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return (hashlib.sha256(client_key).digest() == base64.b64decode(stored_key)
            and hmac.new(salted, b"Server Key", hashlib.sha256).digest()
            == base64.b64decode(server_key))


def dsn(url: URL, user: str, database: str, password: str | None) -> str:
    return url.set(drivername="postgresql", username=user, password=password,
                   database=database).render_as_string(hide_password=False)


@pytest.fixture
async def initialised(postgres_admin_url: str) -> AsyncIterator[dict[str, object]]:
    """The script run under this test's names: service -> (role, database, password)."""
    admin = make_url(postgres_admin_url)
    suffix = f"_t{secrets.token_hex(4)}"
    sql = INIT_SQL.read_text()
    roles, databases = roles_and_databases(sql)
    assert sorted(roles) == sorted(DEFINITIONS), roles
    renamed = sql
    for name in roles + databases:
        renamed = re.sub(rf"\b{name}\b", name + suffix, renamed)
    passwords = {role: secrets.token_urlsafe(18) for role in roles}
    env = {"PATH": os.environ.get("PATH", ""), "PGPASSWORD": admin.password or "",
           **{f"{role.upper()}_DB_PASSWORD": password for role, password in passwords.items()}}
    command = [psql_binary(), "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-h", admin.host or "",
               "-p", str(admin.port or 5432), "-U", admin.username or "", "-d", "postgres"]
    try:
        result = await asyncio.to_thread(subprocess.run, command, input=renamed,
                                         capture_output=True, text=True, env=env, timeout=60,
                                         check=False)
        assert result.returncode == 0, result.stderr
        yield {"admin": admin, "suffix": suffix, "passwords": passwords}
    finally:
        connection = await asyncpg.connect(dsn(admin, admin.username or "", "postgres",
                                               admin.password))
        try:
            for database in databases:
                await connection.execute(
                    f'DROP DATABASE IF EXISTS "{database}{suffix}" WITH (FORCE)')
            for role in roles:
                await connection.execute(f'DROP ROLE IF EXISTS "{role}{suffix}"')
        finally:
            await connection.close()


async def test_each_service_role_owns_its_database_and_no_other(
        initialised: dict[str, object]) -> None:
    admin: URL = initialised["admin"]  # type: ignore[assignment]
    suffix: str = initialised["suffix"]  # type: ignore[assignment]
    passwords: dict[str, str] = initialised["passwords"]  # type: ignore[assignment]

    admin_connection = await asyncpg.connect(dsn(admin, admin.username or "", "postgres",
                                                 admin.password))
    try:
        for service in DEFINITIONS:
            role = await admin_connection.fetchrow(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles "
                "WHERE rolname = $1", service + suffix)
            assert role is not None and role["rolcanlogin"]
            assert not (role["rolsuper"] or role["rolcreatedb"] or role["rolcreaterole"])
        # The passwords are the environment's, not literals of the script. Only a superuser
        # reads the verifiers (the local test cluster's administrator is not one).
        if await admin_connection.fetchval(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            for service in DEFINITIONS:
                verifier = await admin_connection.fetchval(
                    "SELECT rolpassword FROM pg_authid WHERE rolname = $1", service + suffix)
                assert scram_matches(verifier, passwords[service]), service
                assert not scram_matches(verifier, passwords[service] + "x")
    finally:
        await admin_connection.close()

    for service, definition in DEFINITIONS.items():
        role, own = service + suffix, f"rescue_{service}{suffix}"
        url = make_url(dsn(admin, role, own, passwords[service])).set(
            drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        await _migrates_and_writes(url, definition)
        for other in DEFINITIONS:
            if other == service:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError,
                               match="permission denied for database"):
                connection = await asyncpg.connect(
                    dsn(admin, role, f"rescue_{other}{suffix}", passwords[service]))
                await connection.close()


async def _migrates_and_writes(url: str, definition: ServiceDefinition) -> None:
    """The service's own alembic migrations as its role, then a row in its outbox."""
    await upgrade_to_head(url, definition.migrations)
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql")
                                       .render_as_string(hide_password=False))
    try:
        assert await connection.fetchval("SELECT count(*) FROM alembic_version") == 1
        owner = await connection.fetchval(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'outbox_message'")
        assert owner == make_url(url).username
        await connection.execute("CREATE TABLE role_probe (id int PRIMARY KEY)")
        await connection.execute("INSERT INTO role_probe VALUES (1)")
        assert await connection.fetchval("SELECT id FROM role_probe") == 1
    finally:
        await connection.close()
