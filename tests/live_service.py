"""A service served over real HTTP (uvicorn on a free local port), in a thread with its own event
loop, on its own fresh PostgreSQL database and the test broker: what a hospital system reaches.

The fuzzer calls it synchronously (requests), as any generated client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from rescue_shared.db.migrations import upgrade_to_head
from rescue_shared.service import ServiceDefinition, create_service_app
from rescue_shared.settings import ServiceSettings
from rescue_shared.testing import fresh_postgres_database, settings_for

START_TIMEOUT_SECONDS = 60.0


class LiveService:
    def __init__(self, definition: ServiceDefinition, settings_cls: type[ServiceSettings],
                 admin_url: str, **settings: Any) -> None:
        self.definition = definition
        self._settings_cls = settings_cls
        self._admin_url = admin_url
        self._settings = settings
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.document: dict[str, Any] = {}
        self._server: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"live-{definition.name}",
                                        daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        async with fresh_postgres_database(self._admin_url) as database_url:
            settings = settings_for(self._settings_cls, database_url=database_url,
                                    **self._settings)
            await upgrade_to_head(database_url, self.definition.migrations)
            app = create_service_app(self.definition, settings)
            self.document = app.openapi()
            self._server = uvicorn.Server(uvicorn.Config(
                app, lifespan="on", log_level="warning", access_log=False))
            serving = asyncio.create_task(self._server.serve(sockets=[self._socket]))
            while not self._server.started and not serving.done():  # noqa: ASYNC110 (uvicorn has no event)
                await asyncio.sleep(0.05)
            self._ready.set()
            await serving

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS) or self._error is not None:
            raise RuntimeError(f"{self.definition.name} did not start") from self._error
        if self._server is None or not self._server.started:
            raise RuntimeError(f"{self.definition.name} stopped while starting")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(START_TIMEOUT_SECONDS)
        self._socket.close()


@contextlib.contextmanager
def serving(definition: ServiceDefinition, settings_cls: type[ServiceSettings], admin_url: str,
            **settings: Any) -> Iterator[LiveService]:
    service = LiveService(definition, settings_cls, admin_url, **settings)
    service.start()
    try:
        yield service
    finally:
        service.stop()
