"""One module per schema version: ``schema_N`` brings schema ``N - 1`` to ``N``."""
