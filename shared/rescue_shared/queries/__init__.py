"""Data queries: discrepancies raised on a record, answered by the site, closed by a monitor."""
