-- One database per service, owned by the service's own login role: a service can create its
-- tables in its database (its alembic migrations) and cannot connect to another's.
--
-- Run by the postgres image's entrypoint (psql, as POSTGRES_USER) only when the data volume is
-- empty; on an existing server or a managed one, run it yourself with psql 15 or later, as a
-- superuser or a role with CREATEROLE and CREATEDB:
--   ELIGIBILITY_DB_PASSWORD=... PREDICTION_DB_PASSWORD=... RANDOMIZATION_DB_PASSWORD=... \
--   FOLLOWUP_DB_PASSWORD=... psql -v ON_ERROR_STOP=1 -d postgres -f init-databases.sql
-- The passwords come from the environment (\getenv): none is written here. An unset one leaves
-- its :'variable' unexpanded and the script stops at that statement.
\getenv eligibility_password ELIGIBILITY_DB_PASSWORD
\getenv prediction_password PREDICTION_DB_PASSWORD
\getenv randomization_password RANDOMIZATION_DB_PASSWORD
\getenv followup_password FOLLOWUP_DB_PASSWORD

CREATE ROLE eligibility LOGIN PASSWORD :'eligibility_password';
CREATE ROLE prediction LOGIN PASSWORD :'prediction_password';
CREATE ROLE randomization LOGIN PASSWORD :'randomization_password';
CREATE ROLE followup LOGIN PASSWORD :'followup_password';

-- An administrator that is not a superuser (a managed server's, with CREATEROLE and CREATEDB)
-- may only give a database to a role it is a member of.
GRANT eligibility, prediction, randomization, followup TO CURRENT_USER;

CREATE DATABASE rescue_eligibility OWNER eligibility;
CREATE DATABASE rescue_prediction OWNER prediction;
CREATE DATABASE rescue_randomization OWNER randomization;
CREATE DATABASE rescue_followup OWNER followup;

-- PostgreSQL grants CONNECT and TEMPORARY on every new database to PUBLIC (every role): take
-- them back, so that only the owner (and superusers) may connect.
REVOKE ALL ON DATABASE rescue_eligibility FROM PUBLIC;
REVOKE ALL ON DATABASE rescue_prediction FROM PUBLIC;
REVOKE ALL ON DATABASE rescue_randomization FROM PUBLIC;
REVOKE ALL ON DATABASE rescue_followup FROM PUBLIC;
