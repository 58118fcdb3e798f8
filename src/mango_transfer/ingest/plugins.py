"""A user's own ``module.function`` for ``--filter-func`` and ``--metadata-handler``, with
mango-ingest's calling conventions.

- ``--filter-func MOD.FUNC`` (``--filter-func-kwargs JSON``): ``FUNC(pathlib.Path, **kwargs)``
  with the file's absolute path; a true result takes the file. It is asked only about files the
  patterns already take (mango-ingest: patterns first, then the function).
- ``--metadata-handler MOD.FUNC`` (``--metadata-handler-kwargs JSON``): ``FUNC(str, **kwargs)``
  with the absolute path, returning ``{name: value}``, a value being a text or a list of texts
  (one AVU each; numbers are written as text). Each becomes ``mg.<name>`` with the units
  ``analysis/mango_ingest``; ``--metadata-path`` and ``--metadata-mtime`` are applied after it
  and win for the same name, as in mango-ingest.

The module is imported once, before anything is uploaded, from ``PYTHONPATH`` or the current
folder; a module or function that cannot be found, or kwargs that are not a JSON object, is one
line naming the flag. The functions are called in a worker thread (they may read the file, or
run exiftool), never on the event loop. An exception in one fails that file, with the exception
named in the log (mango-ingest printed it and left the file out); the ingest goes on.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mango_transfer.errors import TransferFailed, UsageError

__all__ = ["UserFunction", "avu_values"]


def _kwargs(text: str | None, flag: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag} {text!r} is not valid JSON ({exc.msg})",
                         hint='give a JSON object, e.g. \'{"min_size": 1000}\'') from exc
    if not isinstance(value, dict):
        raise UsageError(f"{flag} {text!r} must be a JSON object",
                         hint='give a JSON object, e.g. \'{"min_size": 1000}\'')
    return value


def _import(spec: str, flag: str) -> Callable[..., Any]:
    module_name, _, name = spec.rpartition(".")
    if not module_name or not name:
        raise UsageError(f"{flag} {spec!r} must name a function as module.function",
                         hint="e.g. my_filters.large_files for large_files in my_filters.py")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # a module next to where the ingest is started
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{flag} {spec!r}: cannot import {module_name} ({exc})",
                         hint=f"put the folder holding {module_name.replace('.', '/')}.py on "
                              "PYTHONPATH, or start the ingest from it") from exc
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise UsageError(f"{flag} {spec!r}: importing {module_name} raised "
                         f"{type(exc).__name__}: {exc}") from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise UsageError(f"{flag} {spec!r}: {module_name} has no function {name}")
    return function


@dataclass(frozen=True)
class UserFunction:
    """One loaded ``module.function`` with its kwargs; call it through :meth:`call`."""

    spec: str
    flag: str
    function: Callable[..., Any] = field(repr=False)
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, spec: str | None, kwargs: str | None, flag: str,
             kwargs_flag: str) -> UserFunction | None:
        """Import ``spec`` (None: no function) and parse its kwargs; UsageError when it
        cannot be used."""
        parsed = _kwargs(kwargs, kwargs_flag)
        if not spec:
            if parsed:
                raise UsageError(f"{kwargs_flag} is given without {flag}")
            return None
        return cls(spec, flag, _import(spec, flag), parsed)

    def call(self, argument: Any) -> Any:
        """Blocking. Any exception becomes a TransferFailed naming the function (not retried:
        the same file would fail the same way)."""
        try:
            return self.function(argument, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - a user's function may raise anything
            raise TransferFailed(f"{self.flag} {self.spec} raised {type(exc).__name__}: {exc}",
                                 path=str(argument), retryable=False,
                                 hint="fix the function or the file, then run with --restart "
                                      "LOG") from exc

    def accepts(self, path: Path) -> bool:
        """``--filter-func``: call it with the absolute ``pathlib.Path``."""
        return bool(self.call(path))

    def values(self, path: Path) -> dict[str, list[str]]:
        """``--metadata-handler``: call it with the absolute path as text; its AVU values."""
        return avu_values(self.call(str(path)), self.flag, self.spec)


def avu_values(result: Any, flag: str = "--metadata-handler",
               spec: str = "") -> dict[str, list[str]]:
    """A handler's ``{name: text | [texts]}`` as lists of non-empty texts (iRODS refuses empty
    values; numbers become text); anything else fails the file naming the handler."""
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise TransferFailed(f"{flag} {spec} returned {type(result).__name__}, not a dict of "
                             "metadata", retryable=False)
    out: dict[str, list[str]] = {}
    for name, value in result.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        texts = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                if item is None:
                    continue
                raise TransferFailed(f"{flag} {spec} returned {type(item).__name__} for "
                                     f"{name!r}; a value must be text or a list of texts",
                                     retryable=False)
            if str(item):
                texts.append(str(item))
        if not isinstance(name, str) or not name:
            raise TransferFailed(f"{flag} {spec} returned the name {name!r}; names must be "
                                 "non-empty texts", retryable=False)
        if texts:
            out[name] = texts
    return out
