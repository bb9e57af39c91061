"""Pure follow-up logic (no I/O): schedule, RECIST/GCIG progression, PFS, ADTTE and its analysis."""
