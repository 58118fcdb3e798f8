"""How the command line writes sizes, counts, rates and durations: one unit system everywhere.

Sizes are binary (IEC) and labelled as such: ``KiB``, ``MiB``, ``GiB``, ``TiB`` (1 MiB =
1,048,576 bytes), the same units the size flags read (``--chunk-threshold 32M`` is 32 MiB, as
rclone's size suffixes are). The bar, the plain progress lines, the summary and ``ls -l``/``du``
use these functions; the JSON report holds exact byte counts.
"""

from __future__ import annotations

import re

from mango_transfer.errors import UsageError

__all__ = ["UNITS_NOTE", "format_count", "format_duration", "format_rate", "format_size",
           "format_span", "parse_duration"]

UNITS_NOTE = "sizes in binary units, 1 MiB = 1,048,576 bytes"
_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def _scaled(value: float) -> tuple[float, str]:
    unit = "B"
    for name in _UNITS:
        if value < 1024:
            break
        value /= 1024
        unit = name
    return value, unit


def format_size(count: float) -> str:
    """``512 B``, ``3.1 KiB``, ``48.2 GiB``."""
    if count < 1024:
        return f"{int(count)} B"
    value, unit = _scaled(float(count))
    return f"{value:.1f} {unit}"


def format_span(done: float, total: float) -> str:
    """``21.7/48.2 GiB`` (one unit when both share it), else ``512.0 MiB/1.2 GiB``."""
    total_text = format_size(total)
    unit = total_text.rsplit(" ", 1)[1]
    done_text = format_size(done)
    if done_text.endswith(" " + unit):
        return f"{done_text.rsplit(' ', 1)[0]}/{total_text}"
    return f"{done_text}/{total_text}"


def format_rate(per_second: float) -> str:
    """Bytes per second: ``110.2 MiB/s``; small rates stay readable (``412 B/s``)."""
    return format_size(per_second) + "/s"


def format_count(count: int) -> str:
    """``12,345``."""
    return f"{count:,}"


def format_duration(seconds: float) -> str:
    """``12s``, ``4m01s``, ``1h02m``, ``3d04h``: two units at most, as an ETA needs."""
    total = max(0, int(round(seconds)))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str, *, flag: str = "--stats") -> float:
    """``60``, ``30s``, ``5m``, ``1h30m``, ``500ms`` → seconds (rclone's ``--stats`` form);
    a UsageError naming ``flag`` otherwise."""
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds >= 0:
            return seconds
    position, total = 0, 0.0
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for match in _DURATION_PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * scale[match.group(2)]
        position = match.end()
    if position != len(value) or not value:
        raise UsageError(f"{flag}: invalid duration {text!r}",
                         hint="use seconds or a number with a unit, e.g. 30s, 5m, 1h30m"
                              + (" (0 turns the lines off)" if flag == "--stats" else ""))
    return total
