"""`rescue-prediction serve|migrate`."""

from rescue_prediction.app import DEFINITION
from rescue_prediction.settings import PredictionSettings
from rescue_shared.cli import run_cli


def main() -> None:
    run_cli(DEFINITION, PredictionSettings)


if __name__ == "__main__":
    main()
