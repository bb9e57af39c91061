"""HTTP routers and event handlers: they parse, call a use case, and answer."""
