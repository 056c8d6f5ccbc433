"""Mining real Ibis code from git repositories, local trees, installed packages,
notebooks and docs."""

__version__ = "0.1.0"
