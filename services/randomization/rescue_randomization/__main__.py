"""`rescue-randomization serve|migrate`."""

from rescue_randomization.app import DEFINITION
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.cli import run_cli


def main() -> None:
    run_cli(DEFINITION, RandomizationSettings)


if __name__ == "__main__":
    main()
