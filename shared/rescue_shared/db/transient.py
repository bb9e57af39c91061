"""Which failures mean "the database is not reachable right now" rather than "this work is bad".

A consumer must never dead-letter an event because PostgreSQL is restarting or a connection was
cut: such an event is retried until the database answers again (the message is not at fault,
and dead-lettering it would lose it for every downstream service). Anything else is the work's
own failure and follows the bounded retries to the dead-letter topic.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

# SQLSTATE classes and codes of a server that is away, restarting or out of connections, or of a
# transaction the server rolled back and that succeeds when run again.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "57P", "53300", "40001", "40P01")
_TRANSIENT_MESSAGES = ("database is locked", "connection is closed", "connection was closed",
                       "the database system is", "terminating connection")


def _chain(error: BaseException) -> list[BaseException]:
    """The error, what it wraps (`orig`) and what caused it, without cycles."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return seen


def is_transient_database_error(error: BaseException) -> bool:
    """True when `error` comes from an unreachable or restarting database (retry, do not blame
    the work)."""
    for part in _chain(error):
        if isinstance(part, sa_exc.DBAPIError) and part.connection_invalidated:
            return True
        if isinstance(part, sa_exc.DisconnectionError | ConnectionError | TimeoutError):
            return True
        if isinstance(part, OSError) and not isinstance(part, sqlite3.Error):
            return True
        sqlstate = getattr(part, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
            return True
        if type(part).__module__.startswith("asyncpg") and type(part).__name__ in {
                "InterfaceError", "ConnectionDoesNotExistError", "InternalClientError"}:
            return True
        message = str(part).lower()
        if any(m in message for m in _TRANSIENT_MESSAGES):
            return True
    return False
