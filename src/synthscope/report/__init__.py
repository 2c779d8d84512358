"""The report model (the JSON record) and its renderings."""
