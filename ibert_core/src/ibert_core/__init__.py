"""iBERT core: hook specs, registries, the engine and the CLI; imports nothing heavy."""

from ibert_core.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
