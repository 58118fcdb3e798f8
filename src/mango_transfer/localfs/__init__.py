"""Local-disk side of a transfer: walking, local paths, resumable partial files, atomic writes
and hashing."""
