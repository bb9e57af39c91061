"""How eligibility is reached: HTTP routes (`http/`) and the events it consumes (`events.py`)."""
