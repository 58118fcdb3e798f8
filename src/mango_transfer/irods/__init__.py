"""iRODS side of a transfer: environment loading, sessions and error translation (PRC inside)."""
