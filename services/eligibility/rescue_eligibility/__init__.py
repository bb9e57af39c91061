"""RESCUE eligibility service: screening of candidates against the protocol's criteria."""
