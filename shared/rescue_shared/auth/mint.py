"""Mint a token for local use: `rescue-token --site S01 --roles site_user,investigator`.

The token is printed on the last line of stdout. It is signed with JWT_SECRET (HS256), whose
default is the public local-development secret: never use it outside a developer machine.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from rescue_shared.settings import LOCAL_DEV_JWT_SECRET


def mint_token(
    *, sub: str, site_id: str | list[str] | None, roles: list[str], secret: str,
    ttl: timedelta = timedelta(hours=8), issuer: str | None = None, audience: str | None = None,
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": sub, "roles": roles, "iat": issued, "exp": issued + ttl, "jti": str(uuid.uuid4()),
    }
    if site_id:
        claims["site_id"] = site_id
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: list[str] | None = None) -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default=None, help="site_id claim: a site, or a comma list for "
                        "a user of several sites (omit for trial-wide roles)")
    parser.add_argument("--roles", required=True, help="comma-separated roles")
    parser.add_argument("--sub", default=None, help="user id (default: local-<site>-user)")
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args(argv)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    sites = [s.strip() for s in (args.site or "").split(",") if s.strip()]
    token = mint_token(
        sub=args.sub or f"local-{'-'.join(sites) or 'trial'}-user",
        site_id=sites[0] if len(sites) == 1 else (sites or None),
        roles=roles,
        secret=os.environ.get("JWT_SECRET", LOCAL_DEV_JWT_SECRET),
        ttl=timedelta(hours=args.hours),
        issuer=os.environ.get("JWT_ISSUER"),
        audience=os.environ.get("JWT_AUDIENCE"),
    )
    print(f"# site={args.site} roles={','.join(roles)} valid {args.hours:g} h", file=sys.stderr)
    print(token)


if __name__ == "__main__":
    main()
