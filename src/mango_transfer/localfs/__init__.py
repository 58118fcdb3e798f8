"""Local-disk side of a transfer: walking, path mapping, atomic partial files and hashing."""
