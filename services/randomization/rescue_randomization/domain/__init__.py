"""Pure randomization logic (no I/O): the adapters persist what these functions decide."""
