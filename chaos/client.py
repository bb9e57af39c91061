"""A hospital-like HTTP client: one Idempotency-Key per logical write, retried with the same key.

A write is retried (same key, same bytes, possibly another replica) on connection errors,
timeouts, 5xx and 409 "request in progress" (Retry-After), with a bounded, jittered backoff, until
it gets a definite answer or its attempt count or deadline runs out. Everything sent is kept in
the ledger (`HospitalClient.ledger`): what the hospital believes the trial now knows.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from rescue_shared.auth.mint import mint_token
from rescue_shared.settings import LOCAL_DEV_JWT_SECRET

FHIR_JSON = "application/fhir+json"
ACCEPTED = frozenset({200, 201, 202})
APPLIED_ANSWER_LOST = "applied, answer lost"


@dataclass
class WriteRecord:
    """One logical write (all its attempts) and the answer the hospital finally got."""

    kind: str
    service: str
    path: str
    subject_id: str
    key: str
    body: bytes
    content_type: str
    site: str | None
    role: str
    probe: bool = False
    status: int | None = None
    response: Any = None
    attempts: int = 0
    replayed: bool = False
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def applied(self) -> bool:
        """Accepted, or applied by an attempt whose answer was lost (the process died before
        answering; the retry was told "Request already applied"): either way it took effect."""
        return self.accepted or self.error == APPLIED_ANSWER_LOST

    def json_body(self) -> Any:
        return json.loads(self.body)


@dataclass
class ReplayCheck:
    """A deliberate duplicate of an answered write: the server must replay its first answer."""

    original_key: str
    kind: str
    subject_id: str
    original_status: int | None
    statuses: list[int | None]
    same_answer: bool


class HospitalClient:
    def __init__(
        self, endpoints: Mapping[str, list[str]], *, seed: int,
        secret: str = LOCAL_DEV_JWT_SECRET, clock_offsets: Mapping[str, timedelta] | None = None,
        request_timeout: float = 20.0, write_deadline: float = 180.0, max_attempts: int = 120,
    ) -> None:
        self.endpoints = {k: list(v) for k, v in endpoints.items()}
        self._rng = random.Random(seed)
        self._secret = secret
        self._offsets = dict(clock_offsets or {})
        self._timeout = request_timeout
        self.write_deadline = write_deadline
        self.max_attempts = max_attempts
        self.ledger: list[WriteRecord] = []
        self.replays: list[ReplayCheck] = []
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> HospitalClient:
        self._http = httpx.AsyncClient(timeout=self._timeout,
                                       limits=httpx.Limits(max_connections=64))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        assert self._http is not None, "use `async with HospitalClient(...)`"
        return self._http

    # --- tokens and replicas ---------------------------------------------------------------

    def auth(self, service: str, site: str | None, role: str) -> dict[str, str]:
        """A fresh token of a stable user (the Idempotency-Key's caller is the token's `sub`)."""
        now = datetime.now(UTC)
        if service in self._offsets:
            # A shifted clock (chaos.clockshift) may lag ours by a moment: never mint a token
            # issued in its future.
            now += self._offsets[service] - timedelta(seconds=60)
        token = mint_token(sub=f"hospital-{site or 'trial'}-{role}", site_id=site,
                           roles=[role], secret=self._secret, now=now)
        return {"Authorization": f"Bearer {token}"}

    def replica(self, service: str, avoid: str | None = None) -> str:
        urls = self.endpoints[service]
        choices = [u for u in urls if u != avoid] or urls
        return self._rng.choice(choices)

    # --- writes ------------------------------------------------------------------------------

    async def write(
        self, kind: str, service: str, path: str, *, subject_id: str, site: str | None,
        role: str = "site_user", json_body: Any = None, fhir_body: Any = None,
        key: str | None = None, probe: bool = False, meta: dict[str, Any] | None = None,
    ) -> WriteRecord:
        """Send one logical write until it has a definite answer (bounded); kept in the ledger."""
        if fhir_body is not None:
            body, content_type = json.dumps(fhir_body).encode(), FHIR_JSON
        else:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        record = WriteRecord(kind=kind, service=service, path=path, subject_id=subject_id,
                             key=key or f"{kind}-{subject_id}-{uuid.uuid4().hex[:12]}",
                             body=body, content_type=content_type, site=site, role=role,
                             probe=probe, meta=dict(meta or {}))
        self.ledger.append(record)
        status, payload, replayed, attempts, error = await self._send_with_retries(record)
        record.status, record.response, record.replayed = status, payload, replayed
        record.attempts, record.error, record.finished_at = attempts, error, time.time()
        return record

    async def _send_with_retries(
        self, record: WriteRecord,
    ) -> tuple[int | None, Any, bool, int, str | None]:
        deadline = time.monotonic() + self.write_deadline
        url: str | None = None
        error: str | None = None
        for attempt in range(1, self.max_attempts + 1):
            url = self.replica(record.service, avoid=url if error else None)
            headers = {**self.auth(record.service, record.site, record.role),
                       "Content-Type": record.content_type, "Idempotency-Key": record.key}
            wait = min(3.0, 0.2 * 1.5 ** attempt) * self._rng.uniform(0.5, 1.5)
            try:
                response = await self.http.post(f"{url}{record.path}", content=record.body,
                                                headers=headers)
            except httpx.TransportError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                in_progress = response.status_code == 409 and "retry-after" in response.headers
                if _applied_answer_lost(response):
                    # Applied once by an earlier attempt whose answer was lost (the process
                    # died): no answer to record, like a request that timed out.
                    return None, None, False, attempt, APPLIED_ANSWER_LOST
                if response.status_code < 500 and not in_progress:
                    return (response.status_code, _payload(response),
                            response.headers.get("idempotent-replayed") == "true", attempt, None)
                error = f"HTTP {response.status_code}: {response.text[:200]}"
                if in_progress:
                    wait = max(wait, float(response.headers.get("retry-after", "1")))
            if time.monotonic() + wait > deadline:
                return None, None, False, attempt, f"gave up after {attempt} attempts: {error}"
            await asyncio.sleep(wait)
        return None, None, False, self.max_attempts, f"gave up: {error}"

    async def duplicate(self, original: WriteRecord, copies: int = 2) -> ReplayCheck:
        """Send an answered write again, `copies` times at once, same key and bytes."""
        twins = [WriteRecord(kind=original.kind, service=original.service, path=original.path,
                             subject_id=original.subject_id, key=original.key,
                             body=original.body, content_type=original.content_type,
                             site=original.site, role=original.role) for _ in range(copies)]
        results = await asyncio.gather(*(self._send_with_retries(t) for t in twins))
        same = all(status == original.status and payload == original.response
                   for status, payload, *_ in results if status is not None)
        check = ReplayCheck(original_key=original.key, kind=original.kind,
                            subject_id=original.subject_id, original_status=original.status,
                            statuses=[r[0] for r in results], same_answer=same)
        self.replays.append(check)
        return check

    # --- reads -------------------------------------------------------------------------------

    async def get(
        self, service: str, path: str, *, site: str | None, role: str = "site_user",
        params: Mapping[str, str] | None = None, accept: str | None = None, attempts: int = 4,
    ) -> httpx.Response | None:
        """A read on any replica; None when no replica answered below 500 (bounded)."""
        url: str | None = None
        for attempt in range(attempts):
            url = self.replica(service, avoid=url)
            headers = self.auth(service, site, role)
            if accept:
                headers["Accept"] = accept
            try:
                response = await self.http.get(f"{url}{path}", params=params, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code < 500:
                return response
            await asyncio.sleep(0.2 * (attempt + 1))
        return None


def _payload(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _applied_answer_lost(response: httpx.Response) -> bool:
    """409 "Request already applied": the Idempotency-Key's first run committed its effect but
    its answer was lost."""
    if response.status_code != 409:
        return False
    try:
        return bool(response.json().get("title") == "Request already applied")
    except ValueError:
        return False
