"""DuckDB validator: fixtures from schemas, sandboxed execution of Ibis code, result comparison."""

__version__ = "0.1.0"
