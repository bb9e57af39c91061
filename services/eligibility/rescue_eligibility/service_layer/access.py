"""Site users never learn that another site's subject exists: such a subject is "not found"."""

from __future__ import annotations

from rescue_shared.auth.tokens import Principal


def sees(caller: Principal, site_id: str) -> bool:
    """Whether `caller` may see a record of `site_id` (trial-wide roles see every site)."""
    return caller.sees_all_sites or caller.site_id == site_id


def site_scope(caller: Principal) -> str | None:
    """The one site whose records `caller` sees (None: every site); a caller bound to no site
    sees none (the empty site id matches no record)."""
    return None if caller.sees_all_sites else (caller.site_id or "")
