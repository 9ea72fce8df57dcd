"""The package version (its own module so that every stage, the command line included, can read it)."""

__version__ = "0.1.0"
