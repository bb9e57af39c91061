"""`Idempotency-Key` on POST: a hospital system may retry a write safely.

Same caller + same key + same request → the first response is replayed (header
`Idempotent-Replayed: true`) and nothing happens a second time. Same key with a different request →
409. While the first request is still running, a concurrent retry gets 409 with `Retry-After`.
The key is claimed in the database before the request runs, so two replicas cannot both run it;
a claim left by a crashed process may be retaken after `idempotency_claim_ttl_seconds`.
Server errors (5xx) release the claim, so the client may retry the request.

The answer is recorded before the client receives a byte of it: a client that got an answer
never finds its key open, and one that lost the connection finds the recorded answer. (Were the
process killed between the route's commit and that record, a retry after the claim's TTL would run
the request again, but the transaction that committed its effect also marked the claim: such a
retry answers 409 "Request already applied" with the events the effect emitted, and changes
nothing.)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescue_shared.auth.tokens import KeysUnavailable, Principal, TokenError
from rescue_shared.db.engine import Database
from rescue_shared.db.platform_tables import IdempotencyRecord, utcnow
from rescue_shared.db.transient import is_transient_database_error
from rescue_shared.http.problem_types import ProblemType
from rescue_shared.http.problems import PROBLEM_JSON, problem_bytes, send_response
from rescue_shared.observability.context import idempotency_claim_var

HEADER = b"idempotency-key"
FINISH_ATTEMPTS = 8  # about 8 s of database outage waited out before answering anyway
log = logging.getLogger(__name__)
MAX_KEY_LENGTH = 200
# Printable ASCII, inner spaces allowed (the pattern the OpenAPI documents state).
KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
_KEY = re.compile(KEY_PATTERN)


def _problem(status: int, type_: ProblemType, title: str, detail: str,
             path: str) -> tuple[int, str, bytes]:
    return status, PROBLEM_JSON, problem_bytes(status, title, detail, path, type_=type_.value)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key_bytes = headers.get(HEADER)
        caller = None if key_bytes is None else await self._caller(scope, headers)
        if key_bytes is None or caller is None:
            # No key, or no valid token (the route answers 401 itself).
            await self.app(scope, receive, send)
            return
        key = key_bytes.decode("latin-1")
        path = scope["path"]
        if len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
            await send_response(send, *_problem(
                400, ProblemType.INVALID_IDEMPOTENCY_KEY, "Invalid Idempotency-Key",
                f"header Idempotency-Key must have 1 to {MAX_KEY_LENGTH} printable ASCII "
                "characters, not starting or ending with a space", path))
            return

        body = await _read_body(receive)
        fingerprint = hashlib.sha256(
            b"\n".join([b"POST", path.encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        app_state = scope["app"].state
        database = app_state.database
        ttl = app_state.settings.idempotency_claim_ttl_seconds
        verdict = await self._claim(database, caller, key, fingerprint, ttl)
        if isinstance(verdict, IdempotencyRecord):
            if verdict.request_fingerprint != fingerprint:
                await send_response(send, *_problem(
                    409, ProblemType.IDEMPOTENCY_KEY_REUSED, "Idempotency-Key reused",
                    "this Idempotency-Key was already used with a different request", path))
            elif verdict.status_code is None and _abandoned(verdict, ttl):
                await self._answer_applied(send, database, caller, key, verdict, path)
            elif verdict.status_code is None:
                await send_response(send, *_problem(
                    409, ProblemType.REQUEST_IN_PROGRESS, "Request in progress",
                    "a request with this Idempotency-Key is still being processed; retry later",
                    path), extra=[(b"retry-after", b"1")])
            else:
                await send_response(send, verdict.status_code, verdict.content_type or "",
                               base64.b64decode(verdict.body or ""),
                               extra=[(b"idempotent-replayed", b"true")])
            return

        captured: dict[str, Any] = {"status": 500, "content_type": "", "chunks": []}
        start: Message | None = None
        recorded = False

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def record_then_send(message: Message) -> None:
            nonlocal start, recorded
            if message["type"] == "http.response.start":
                start = message  # held back until the answer is recorded
                captured["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        captured["content_type"] = value.decode("latin-1")
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            captured["chunks"].append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish_durably(database, caller, key, captured)
            recorded = True
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(captured["chunks"])})

        token = idempotency_claim_var.set((caller, key))
        try:
            await self.app(scope, replay_receive, record_then_send)
        finally:
            idempotency_claim_var.reset(token)
            if not recorded:  # the route failed: release the claim for a retry
                await self._finish(database, caller, key, captured)

    @staticmethod
    async def _caller(scope: Scope, headers: dict[bytes, bytes]) -> str | None:
        auth = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            principal: Principal = await scope["app"].state.token_verifier.authenticate(
                token.strip())
            return principal.sub
        except (TokenError, KeysUnavailable):
            return None

    @staticmethod
    async def _claim(database: Database, caller: str, key: str, fingerprint: str,
                     ttl_seconds: float) -> IdempotencyRecord | None:
        """None when this request now owns the key; else the record that already holds it."""
        try:
            async with database.session() as session, session.begin():
                session.add(IdempotencyRecord(caller=caller, key=key,
                                              request_fingerprint=fingerprint))
            return None
        except IntegrityError:
            pass
        async with database.session() as session, session.begin():
            record = await session.get(IdempotencyRecord, (caller, key), with_for_update=True)
            if record is None:  # released meanwhile by a failed request: take it
                session.add(IdempotencyRecord(caller=caller, key=key,
                                              request_fingerprint=fingerprint))
                return None
            stale = utcnow() - record.created_at > timedelta(seconds=ttl_seconds)
            if (record.status_code is None and stale and record.effect_committed_at is None
                    and record.request_fingerprint == fingerprint):
                record.created_at = utcnow()  # the first run left no effect: run it again
                return None
            session.expunge(record)
            return record

    @classmethod
    async def _answer_applied(cls, send: Send, database: Database, caller: str, key: str,
                              record: IdempotencyRecord, path: str) -> None:
        """The first run committed its effect but its answer was lost (the process died in
        between): say so, with what it emitted, and record that as the key's answer."""
        events = json.loads(record.effect_events or "[]")
        status, content_type, body = _problem(
            409, ProblemType.REQUEST_ALREADY_APPLIED, "Request already applied",
            "this request was applied, but its answer was lost before it could be sent; read "
            "the resource it created or changed (the events it emitted are listed)", path)
        body = json.dumps({**json.loads(body), "applied_events": events}).encode()
        captured = {"status": status, "content_type": content_type, "chunks": [body]}
        await cls._finish_durably(database, caller, key, captured)
        await send_response(send, status, content_type, body)

    @classmethod
    async def _finish_durably(cls, database: Database, caller: str, key: str,
                              captured: dict[str, Any]) -> None:
        """Record the answer, waiting out a short database outage (bounded): if it still cannot
        be recorded, the answer is sent all the same and the claim expires after its TTL."""
        for attempt in range(FINISH_ATTEMPTS):
            try:
                await cls._finish(database, caller, key, captured)
                return
            except Exception as exc:
                if not is_transient_database_error(exc) or attempt == FINISH_ATTEMPTS - 1:
                    log.error("could not record the answer to Idempotency-Key %r of %s: %s",
                              key, caller, exc)
                    return
                await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))

    @staticmethod
    async def _finish(database: Database, caller: str, key: str, captured: dict[str, Any]) -> None:
        async with database.session() as session, session.begin():
            record = await session.get(IdempotencyRecord, (caller, key))
            if record is None:
                return
            if captured["status"] >= 500:
                # Nothing applied: free the key for a retry. Applied, then failed: keep the
                # claim open, so that a retry learns it was applied instead of running again.
                if record.effect_committed_at is None:
                    await session.delete(record)
                return
            record.status_code = captured["status"]
            record.content_type = captured["content_type"]
            # Base64 keeps any body (JSON, CSV, PNG) byte for byte.
            record.body = base64.b64encode(b"".join(captured["chunks"])).decode("ascii")
            record.completed_at = utcnow()


def _abandoned(record: IdempotencyRecord, ttl_seconds: float) -> bool:
    """A claim whose effect was committed but whose answer never came (the process died)."""
    return (record.effect_committed_at is not None
            and utcnow() - record.created_at > timedelta(seconds=ttl_seconds))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
