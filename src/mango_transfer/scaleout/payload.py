"""The message of one task: JSON, paths and options only (never a credential: a worker
connects with its own iRODS environment file)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mango_transfer.engine.options import TransferOptions

__all__ = ["BatchPayload"]

# Applied once by the coordinator (ACLs at the end) or refused (--delete): never per batch.
_COORDINATOR_ONLY = ("acl", "delete")


@dataclass(frozen=True)
class BatchPayload:
    run: str
    batch: str
    direction: str  # "upload" | "download"
    src: str
    dest: str
    options: dict[str, Any]
    files: list[str] | None  # None: the source is one file or object, moved whole
    dirs: list[str]
    lease: float
    split: list[int] | None = None  # [split_from, part_size]: share very large files in parts

    @staticmethod
    def options_to_json(options: TransferOptions) -> dict[str, Any]:
        values = dataclasses.asdict(options)
        for name in _COORDINATOR_ONLY:
            values.pop(name)
        return values

    def transfer_options(self) -> TransferOptions:
        names = {field.name for field in dataclasses.fields(TransferOptions)}
        return TransferOptions(**{k: v for k, v in self.options.items() if k in names})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchPayload:
        return cls(**{field.name: data[field.name] for field in dataclasses.fields(cls)
                      if field.name in data})
