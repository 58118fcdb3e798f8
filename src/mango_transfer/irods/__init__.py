"""iRODS side of a transfer: environment, sessions, listings and lookups, handles and parallel
chunks, metadata, iRODS paths and error translation (python-irodsclient inside)."""
