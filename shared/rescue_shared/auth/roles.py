"""The platform's roles (a module of its own: settings validate role maps against it)."""

ROLES = frozenset({"site_user", "investigator", "statistician", "monitor", "admin",
                   "data_manager"})
# Roles that work across sites (trial team); every other caller is bound to their own site(s).
CROSS_SITE_ROLES = frozenset({"statistician", "monitor", "admin", "data_manager"})
