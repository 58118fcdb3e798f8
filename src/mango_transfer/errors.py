"""The one error tree of mango-transfer.

Every failure a user can cause or meet is one of these classes, so the CLI catches only
:class:`MangoError`, prints :meth:`MangoError.user_message` (one line, naming the file, field or
path and what to do) and exits non-zero without a traceback. Lower-level exceptions
(python-irodsclient, ``OSError``) are translated at their boundary, in
``mango_transfer.irods.errors`` and ``mango_transfer.localfs.errors``, and chained with ``from``
so that ``--debug`` output still shows the original cause.

::

    MangoError                      retryable?
    ├── ConfigError                 no    irods_environment.json missing / invalid / wrong types
    ├── UsageError                  no    invalid option values or combinations
    ├── AuthError                   no    credentials refused, expired or absent
    ├── ConnectionFailed            yes*  unreachable, reset, timed out (*TLS/DNS setup: no)
    ├── RemoteNotFound              no    iRODS path does not exist
    ├── LocalNotFound               no    local path does not exist
    ├── PermissionDenied            no    no access (local or remote)
    ├── UnsafePath                  no    a remote name would escape the destination folder
    ├── DiskFull                    no    no space left (a partial download is kept for resume)
    └── TransferFailed              per instance: server busy → yes, refused → no
        └── VerificationFailed      yes   size or checksum differs after the transfer

The retry rule (``engine/retry.py``) asks only ``retryable``, ``max_retries`` and ``fatal``;
it never inspects messages. A *fatal* error (ConfigError, AuthError) stops the whole run,
because every file would fail the same way.
"""

from __future__ import annotations

import os

__all__ = [
    "AuthError",
    "ConfigError",
    "ConnectionFailed",
    "DiskFull",
    "LocalNotFound",
    "MangoError",
    "PermissionDenied",
    "RemoteNotFound",
    "TransferFailed",
    "UnsafePath",
    "UsageError",
    "VerificationFailed",
]

PathLike = str | os.PathLike[str]


def _one_line(text: str) -> str:
    """Collapse whitespace so a message never breaks the one-line-per-error CLI contract."""
    return " ".join(text.split())


class MangoError(Exception):
    """Base of every error mango-transfer reports to a user.

    ``detail`` says what went wrong, ``path`` names the file/collection/setting concerned, and
    ``hint`` says what to do. ``retryable`` defaults per class and can be overridden per instance,
    because the same class (e.g. :class:`TransferFailed`) covers both a busy server and a refusal.
    """

    retryable: bool = False
    max_retries: int | None = None  # None: as many as --retries allows
    fatal: bool = False  # stops the whole run, not one file
    default_hint: str = ""

    def __init__(
        self,
        detail: str,
        *,
        path: PathLike | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.detail = detail
        self.path = os.fspath(path) if path is not None else None
        self.hint = self.default_hint if hint is None else hint
        if retryable is not None:
            self.retryable = retryable
        super().__init__(self.user_message())

    def user_message(self) -> str:
        """One line: ``<path>: <detail>; <hint>`` (parts left out when unknown)."""
        text = f"{self.path}: {self.detail}" if self.path else self.detail
        if self.hint:
            text = f"{text}; {self.hint}"
        return _one_line(text)


class ConfigError(MangoError):
    """The iRODS environment file (or a file it names) is missing or wrong.

    Carries the file and the field so ``mango-transfer check`` can list every problem and
    ``check --fix`` can target the fixable ones.
    """

    fatal = True

    def __init__(
        self,
        detail: str,
        *,
        path: PathLike,
        field: str | None = None,
        hint: str | None = None,
        fixable: bool = False,
    ) -> None:
        self.field = field
        self.fixable = fixable
        super().__init__(detail, path=path, hint=hint)

    def user_message(self) -> str:
        where = f'{self.path}: field "{self.field}"' if self.field else f"{self.path}"
        text = f"{where}: {self.detail}"
        return _one_line(f"{text}; {self.hint}" if self.hint else text)


class UsageError(MangoError):
    """An option value or combination that cannot work; raised before any transfer starts."""


class AuthError(MangoError):
    """The server refused the credentials, they expired, or none are stored."""

    fatal = True
    default_hint = "log in again with `mango-transfer login USER ZONE HOST`"


class ConnectionFailed(MangoError):
    """The server could not be reached or the connection broke.

    Retryable by default: resets and timeouts are the faults a backoff cures. Setup failures
    (unknown host name, TLS certificate rejected) pass ``retryable=False``.
    """

    retryable = True
    default_hint = "check irods_host/irods_port and your network, then run the command again"


class RemoteNotFound(MangoError):
    """An iRODS collection or data object does not exist (or is invisible to this user)."""

    default_hint = "check the iRODS path and that you have read access to its collection"


class LocalNotFound(MangoError):
    """A local file or folder does not exist."""

    default_hint = "check the local path"


class PermissionDenied(MangoError):
    """Access refused, locally or by the iRODS ACLs."""

    default_hint = "ask the owner for access, or choose another destination"


class UnsafePath(MangoError):
    """A remote name would write outside the destination folder (``..``, absolute, separators).

    Refused, never sanitised: silently renaming files would break the one-to-one mapping
    between the collection and the folder.
    """

    default_hint = "rename the data object on iRODS; it was not downloaded"


class DiskFull(MangoError):
    """No space left while writing; names the partial file kept for a later resume."""

    def __init__(
        self,
        detail: str,
        *,
        path: PathLike | None = None,
        partial: PathLike | None = None,
        hint: str | None = None,
    ) -> None:
        self.partial = os.fspath(partial) if partial is not None else None
        if hint is None:
            hint = "free some space and run the same command again"
            if self.partial:
                hint = f"the partial file {self.partial} is kept; {hint} to resume"
        super().__init__(detail, path=path, hint=hint)


class TransferFailed(MangoError):
    """A file could not be transferred for a reason not covered by a more specific class."""


class VerificationFailed(TransferFailed):
    """Size or checksum after the transfer does not match the source: never a success.

    Retried once: a second mismatch points at the data, not at a passing fault.
    """

    retryable = True
    max_retries = 1

    def __init__(
        self,
        detail: str,
        *,
        path: PathLike | None = None,
        expected: str | None = None,
        actual: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.expected = expected
        self.actual = actual
        if expected is not None or actual is not None:
            detail = f"{detail} (expected {expected}, got {actual})"
        super().__init__(detail, path=path, hint=hint)
