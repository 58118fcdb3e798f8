"""Where ingest's option values come from besides the command line: ``MANGO_*`` environment
variables and the YAML file named by ``MANGO_INGEST_CONFIG``, as mango-ingest reads them.

**Precedence**, highest first: the command line, the option's environment variable, the config
file, the built-in default (click's own order for ``envvar`` and ``default_map``), so a lab's
config file sets the defaults of a station and a flag still overrides them for one run.

**Names.** Every option's variable is ``MANGO_`` + its name in capitals (``--destination`` →
``MANGO_DESTINATION``, ``--polling-interval`` → ``MANGO_POLLING_INTERVAL``, ``--dry-run`` →
``MANGO_DO_DRY_RUN`` as mango-ingest named it); a repeatable option takes several values
separated by spaces (``MANGO_GLOB='*.csv *.json'``). The config file's keys are the same names
in lower case, as mango-ingest's ``generate-config`` writes them (``destination``, ``glob``,
``metadata_path``, ``do_dry_run``, ...); a repeatable option takes a list or one string.

**Checked at load**: a file that is missing, not YAML, not a mapping, with an unknown key or a
value of the wrong type is one line naming the file and the key (mango-ingest printed the
problem and went on without the file, which silently changes what a station uploads).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click
import yaml

from mango_transfer.errors import UsageError

__all__ = ["CONFIG_VARIABLE", "ENV_PREFIX", "dump", "envvar", "load_config"]

CONFIG_VARIABLE = "MANGO_INGEST_CONFIG"
ENV_PREFIX = "MANGO_"


def envvar(name: str) -> str:
    """The environment variable of the option named ``name`` (its Python name)."""
    return ENV_PREFIX + name.upper()


def _kind(option: click.Option) -> str:
    if option.count:
        return "count"
    if option.is_flag:
        return "flag"
    if option.multiple:
        return "list"
    if isinstance(option.type, click.types.FloatParamType):
        return "number"
    if isinstance(option.type, click.types.IntParamType):
        return "integer"
    return "text"


def _check(path: Path, key: str, value: Any, kind: str) -> Any:
    """The value as click's ``default_map`` wants it, or a UsageError naming the key."""
    if value is None:
        return None
    ok = {
        "count": isinstance(value, int) and not isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "flag": isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "text": isinstance(value, (str, int, float)) and not isinstance(value, bool),
        "list": isinstance(value, str) or (isinstance(value, list)
                                           and all(isinstance(v, str) for v in value)),
    }[kind]
    if not ok:
        wanted = {"count": "a whole number", "integer": "a whole number", "flag": "true or false",
                  "number": "a number", "text": "a text", "list": "a list of texts"}[kind]
        raise UsageError(f"{CONFIG_VARIABLE} file {path}: {key!r} must be {wanted}, "
                         f"got {value!r}")
    if kind == "list":
        return [value] if isinstance(value, str) else list(value)
    if kind == "text":
        return str(value)
    return value


def load_config(path: str | os.PathLike[str],
                options: Iterable[click.Parameter]) -> dict[str, Any]:
    """Read and check a config file against the command's options; returns click's
    ``default_map`` (a UsageError, one line, for any problem)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{CONFIG_VARIABLE} file {source}: cannot read it ({reason})",
                         hint=f"check the path in {CONFIG_VARIABLE} or unset it") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{CONFIG_VARIABLE} file {source}: not valid YAML{where}",
                         hint="`mango-transfer ingest generate-config` writes a valid one") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{CONFIG_VARIABLE} file {source}: must hold option: value lines",
                         hint="`mango-transfer ingest generate-config` writes a valid one")
    kinds = {p.name: _kind(p) for p in options if isinstance(p, click.Option) and p.name}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or key not in kinds:
            raise UsageError(f"{CONFIG_VARIABLE} file {source}: unknown option {key!r}",
                             hint=f"known options: {', '.join(sorted(kinds))}")
        values[key] = _check(source, key, value, kinds[key])
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def dump(params: Mapping[str, Any]) -> str:
    """The options as a config file (YAML, keys sorted, as mango-ingest's generate-config)."""
    return yaml.safe_dump({k: _plain(v) for k, v in params.items()}, default_flow_style=False,
                          indent=2, sort_keys=True)
