"""SQL tasks: sql_to_ibis, ibis_to_sql, code_completion, error_resolution."""

__version__ = "0.1.0"
