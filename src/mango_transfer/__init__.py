"""mango-transfer: move research data between a local disk and an iRODS zone, fast and verified."""

__version__ = "0.1.0"
__all__ = ["__version__"]
