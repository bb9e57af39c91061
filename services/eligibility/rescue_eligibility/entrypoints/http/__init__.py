"""The eligibility HTTP API: routers that parse a request, call a use case and answer."""
