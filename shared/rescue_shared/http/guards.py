"""Request guards every service runs: a body cap before anything reads the body, and a last
resort that turns any unexpected exception into problem+json.

Body cap: a body larger than its limit is refused with 413 before it is read past the limit
(`Content-Length` is checked first; chunked bodies are counted as they arrive), so neither the
idempotency middleware nor a route ever holds more than the limit in memory. Bulk routes (cohort
calculators, posted data sets) get a larger limit of their own.

Last resort: an exception nothing else handled answers 500 problem+json carrying the request's
correlation id (never Starlette's text/plain "Internal Server Error"), and is logged with its
stack. JSON nested deeper than the parser's recursion limit is the client's fault: 400.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescue_shared.http.problems import PROBLEM_JSON, problem_bytes, send_response
from rescue_shared.observability.context import current_correlation_id

log = logging.getLogger("rescue.http")
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class BodyLimitMiddleware:
    """413 for a request body over its route's limit; the body is read once, then replayed."""

    def __init__(self, app: ASGIApp, *, limit: int, bulk_limit: int,
                 bulk_paths: Sequence[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.bulk_limit = bulk_limit
        self.bulk_paths = tuple(bulk_paths)

    def limit_for(self, path: str) -> int:
        return self.bulk_limit if path.rstrip("/") in self.bulk_paths else self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limit_for(path)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, path, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, path, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: disconnect notifications

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, path: str, limit: int) -> None:
        await send_response(send, 413, PROBLEM_JSON, problem_bytes(
            413, "Content Too Large",
            f"the request body exceeds the limit of {limit} bytes for {path}", path,
            limit_bytes=limit))


class UnhandledErrorMiddleware:
    """Any exception that escaped the routes answers problem+json, with the correlation id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except RecursionError:
            if started:
                raise
            await send_response(send, 400, PROBLEM_JSON, problem_bytes(
                400, "Bad Request", "the request body is nested too deeply to be read",
                scope["path"], errors=[{"field": "body", "rule": "max_depth",
                                        "message": "nested too deeply"}]))
        except Exception:
            correlation_id = current_correlation_id()
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            await send_response(send, 500, PROBLEM_JSON, problem_bytes(
                500, "Internal Server Error",
                "an unexpected error occurred; quote the correlation id when you report it",
                scope["path"], correlation_id=correlation_id))
