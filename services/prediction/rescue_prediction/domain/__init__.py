"""Pure prediction logic (no I/O): CA-125 kinetics, GCIG response, selection scores and the
complete-resection classification. Adapters (HTTP, storage, events) call these functions."""
