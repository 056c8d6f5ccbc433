"""Docs tasks: qa over the installed ibis API, and checked docstring generation."""

__version__ = "0.1.0"
