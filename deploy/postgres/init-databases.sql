-- One database per service (each service owns its schema and runs its own alembic migrations).
-- Run by the postgres image's entrypoint, as POSTGRES_USER, only when the data volume is empty:
-- on an existing volume create missing databases by hand.
CREATE DATABASE rescue_eligibility;
CREATE DATABASE rescue_prediction;
CREATE DATABASE rescue_randomization;
CREATE DATABASE rescue_followup;
