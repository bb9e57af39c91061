"""Fault campaign against the real RESCUE system: Kafka, PostgreSQL, the services as processes.

`python -m chaos` (or `make chaos`) starts a broker and a PostgreSQL cluster of its own, runs the
four services as separate processes (two replicas each by default), drives seeded subject journeys
through their HTTP APIs like a hospital system would while faults are injected at random moments,
then lets the system settle and reconciles every store and every topic against what the clients
were told. Modules:

- `processes`: start / SIGKILL / restart one service process, wait for /readyz.
- `infra`: the local broker and PostgreSQL (deploy/local scripts): stop, start, SIGKILL, restart.
- `client`: a hospital-like HTTP client (Idempotency-Key per logical write, retries, same key).
- `load`: the seeded subject journeys, spread over the replicas.
- `faults`: the seeded fault schedule and its injection, with recovery probes.
- `reconcile`: every service's database and every topic against the client's ledger.
- `report`: the table and its JSON form.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
