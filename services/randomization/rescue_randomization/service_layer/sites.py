"""Site users never learn that another site's subject exists: such a subject is "not found"."""

from __future__ import annotations

from rescue_shared.auth.tokens import Principal


def sees(actor: Principal, site_id: str) -> bool:
    """Whether `actor` may see a record of `site_id` (trial-wide roles see every site)."""
    return actor.sees_all_sites or actor.site_id == site_id
