"""Fault injection, so reliability tests can break the server on purpose.

Spec syntax (``--faults`` or ``Faults.configure``), comma separated:

- ``delay_ms=D``            sleep D ms before every reply (an emulated WAN round trip)
- ``drop_after_bytes=N``    close the connection that moves the N-th data byte (read or write);
                            fires once (``drop_after_bytes=N:R`` fires R times, counting afresh)
- ``fail=API:K:CODE``       the K-th call of API number API answers CODE instead (repeatable)
- ``restart_after=API:K``   at the K-th call of API, drop every connection and stop listening
                            for ``restart_pause_ms`` (default 500), as a server restart does
- ``evil_name=TEXT``        play a malicious or buggy server: every DATA_NAME a GenQuery returns
                            for an object whose name starts with ``evil`` becomes TEXT (e.g.
                            ``../../escape.txt``), to prove clients refuse names that leave
                            their destination
"""

from __future__ import annotations

from dataclasses import dataclass, field


class FaultSpecError(ValueError):
    pass


@dataclass
class Faults:
    delay_ms: float = 0.0
    drop_after_bytes: int | None = None
    drop_repeat: int = 1
    failures: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    restart_after: tuple[int, int] | None = None
    restart_pause_ms: float = 500.0
    evil_name: str | None = None
    bytes_moved: int = 0
    calls: dict[int, int] = field(default_factory=dict)
    drops_done: int = 0

    @classmethod
    def parse(cls, spec: str) -> Faults:
        faults = cls()
        faults.configure(spec)
        return faults

    def configure(self, spec: str) -> None:
        """Replace the active faults (counters restart from zero)."""
        self.__init__()  # type: ignore[misc]
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, value = item.partition("=")
            try:
                self._apply(name.strip(), value.strip())
            except (ValueError, IndexError) as exc:
                raise FaultSpecError(f"bad fault {item!r}: {exc}") from exc

    def _apply(self, name: str, value: str) -> None:
        if name == "delay_ms":
            self.delay_ms = float(value)
        elif name == "drop_after_bytes":
            count, _, repeat = value.partition(":")
            self.drop_after_bytes = int(count)
            self.drop_repeat = int(repeat or 1)
        elif name == "fail":
            api, k, code = (int(part) for part in value.split(":"))
            if code >= 0:
                raise ValueError("the error code must be negative")
            self.failures.setdefault(api, []).append((k, code))
        elif name == "restart_after":
            api, k = (int(part) for part in value.split(":"))
            self.restart_after = (api, k)
        elif name == "evil_name":
            if not value:
                raise ValueError("evil_name needs the name to answer")
            self.evil_name = value
        elif name == "restart_pause_ms":
            self.restart_pause_ms = float(value)
        else:
            raise ValueError(f"unknown fault {name!r}")

    def on_call(self, api: int) -> tuple[int | None, bool]:
        """Count a call; return (error code to answer instead, whether to restart now)."""
        count = self.calls[api] = self.calls.get(api, 0) + 1
        code = next((c for k, c in self.failures.get(api, []) if k == count), None)
        restart = self.restart_after is not None and self.restart_after == (api, count)
        return code, restart

    def on_bytes(self, count: int) -> bool:
        """Count data bytes; True when this connection must be dropped now."""
        if self.drop_after_bytes is None or self.drops_done >= self.drop_repeat:
            return False
        self.bytes_moved += count
        if self.bytes_moved >= self.drop_after_bytes:
            self.drops_done += 1
            self.bytes_moved = 0
            return True
        return False
