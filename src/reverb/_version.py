"""The package version, single source for packaging and the connection URL."""

__version__ = "0.1.0"
