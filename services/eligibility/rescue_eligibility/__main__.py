"""`rescue-eligibility serve|migrate`."""

from rescue_eligibility.app import DEFINITION
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.cli import run_cli


def main() -> None:
    run_cli(DEFINITION, EligibilitySettings)


if __name__ == "__main__":
    main()
