"""Command line of every service: `rescue-<service> serve|migrate`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

import uvicorn

from rescue_shared.db.migrations import upgrade_to_head
from rescue_shared.observability.logging import configure_logging
from rescue_shared.service import ServiceDefinition, create_service_app
from rescue_shared.settings import ServiceSettings


def run_cli(definition: ServiceDefinition, load_settings: Callable[[], ServiceSettings]) -> None:
    parser = argparse.ArgumentParser(prog=f"rescue-{definition.name}",
                                     description=definition.title)
    parser.add_argument("command", choices=["serve", "migrate"], nargs="?", default="serve")
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(settings.service_name, settings.log_level)
    if args.command == "migrate" or settings.migrate_on_start:
        asyncio.run(upgrade_to_head(settings.database_url, definition.migrations))
    if args.command == "serve":
        uvicorn.run(create_service_app(definition, settings), host=settings.host,
                    port=settings.port, log_config=None, access_log=False,
                    timeout_graceful_shutdown=25)
