"""RESCUE prediction service: CA-125 kinetics and the complete-resection prediction."""
