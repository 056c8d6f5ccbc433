"""The verified multi-task training corpus: templates, generated SQL, augmentation, six tasks.

Everything here goes through the registries (`sql_to_ibis` handler, `duckdb` validator);
nothing is written to a corpus unless the validator passed it.
"""
