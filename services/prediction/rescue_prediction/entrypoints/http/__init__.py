"""FastAPI routers of the prediction service: parse, call a use case, answer."""
