import rescue_eligibility.adapters.tables  # noqa: F401  (registers the tables)
from rescue_shared.db.migrations import run_alembic_env

run_alembic_env()
