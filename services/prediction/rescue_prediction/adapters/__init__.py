"""What the prediction service's use cases reach through: tables, repositories, the unit of work,
the FHIR mapping, the protocol files and the figures."""
