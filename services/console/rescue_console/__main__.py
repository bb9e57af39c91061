"""`rescue-console serve`: the console on HOST:PORT (8000), talking to the four services."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from rescue_console.app import create_app
from rescue_console.settings import ConsoleSettings
from rescue_shared.observability.logging import configure_logging


def main() -> None:
    parser = argparse.ArgumentParser(prog="rescue-console", description=__doc__)
    parser.add_argument("command", choices=["serve"], nargs="?", default="serve")
    parser.parse_args()
    settings = ConsoleSettings()
    configure_logging(settings.service_name, settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call is noise
    # No access log: the OIDC callback's query holds a one-time authorization code.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
