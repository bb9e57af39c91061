"""Validation rules shared by the services' request schemas."""
