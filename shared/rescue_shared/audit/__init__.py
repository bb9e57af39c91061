"""The audit trail every service keeps (21 CFR Part 11): who, what, when, why, before and after,
hash-chained per service and appended in the same transaction as the change (docs/audit.md).

`chain` is the pure part (canonical JSON, hashing, the next entry after the head, verification);
`trail` the use cases and the port a service's unit of work offers (`record`, page, verify);
`sql` the tables, the SQL trail and the unit of work that appends at commit; `migration` the
frozen table definitions each service's alembic revision creates.
"""
