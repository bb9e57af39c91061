"""Command line of every service: `rescue-<service> serve|migrate`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

import uvicorn
from pydantic import ValidationError

from rescue_shared.db.migrations import upgrade_to_head
from rescue_shared.observability.logging import configure_logging
from rescue_shared.service import ServiceDefinition, create_service_app
from rescue_shared.settings import ServiceSettings


def run_cli(definition: ServiceDefinition, load_settings: Callable[[], ServiceSettings]) -> None:
    parser = argparse.ArgumentParser(prog=f"rescue-{definition.name}",
                                     description=definition.title)
    parser.add_argument("command", choices=["serve", "migrate"], nargs="?", default="serve")
    args = parser.parse_args()
    try:
        settings = load_settings()
    except ValidationError as exc:
        # One line per broken rule, without the values (one may be a secret); exit status 2.
        problems = "\n".join(f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False))
        print(f"rescue-{definition.name}: refusing to start, invalid configuration:\n"
              f"{problems}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.service_name, settings.log_level)
    if args.command == "migrate" or settings.migrate_on_start:
        asyncio.run(upgrade_to_head(settings.database_url, definition.migrations))
    if args.command == "serve":
        uvicorn.run(create_service_app(definition, settings), host=settings.host,
                    port=settings.port, log_config=None, access_log=False,
                    timeout_graceful_shutdown=25)
