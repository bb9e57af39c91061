"""`rescue-followup serve|migrate`."""

from rescue_followup.app import DEFINITION
from rescue_followup.settings import FollowupSettings
from rescue_shared.cli import run_cli


def main() -> None:
    run_cli(DEFINITION, FollowupSettings)


if __name__ == "__main__":
    main()
