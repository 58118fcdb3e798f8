"""Translate python-irodsclient (PRC) exceptions into the MangoError tree, once, at this boundary.

PRC raises hundreds of classes chosen by error code, plain socket errors, its own
``NetworkException``/``DoesNotExist`` classes, and, in 3.3.0, a bare ``KeyError(code)`` for codes
it has no class for (irods-protocol.md §6). Users must never see any of them, and the retry loop
must only ask ``retryable``. So classification is by *code* (rounded to the thousand, like
PRC does; the remainder is an errno) and by exception *type*, never by message text, with one
documented exception (PRC's negotiation failure has no type of its own).
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from irods.auth import ClientAuthError
from irods.exception import DoesNotExist, NetworkException, iRODSException
from irods.session import NonAnonymousLoginWithoutPassword

from mango_transfer.errors import (
    AuthError,
    ConnectionFailed,
    DiskFull,
    MangoError,
    PermissionDenied,
    RemoteNotFound,
    TransferFailed,
    VerificationFailed,
)
from mango_transfer.localfs.errors import os_error_to_mango

__all__ = ["error_name", "nominal_code", "to_mango_error", "translate_irods_errors"]

# Codes by name. Integers, not PRC classes, because several have no class in PRC 3.3.0.
_NAMES: dict[int, str] = {
    -1000: "SYS_SOCK_OPEN_ERR",
    -4000: "SYS_HEADER_READ_LEN_ERR",
    -5000: "SYS_HEADER_WRITE_LEN_ERR",
    -9000: "SYS_EXCEED_CONNECT_CNT",
    -13000: "SYS_NO_API_PRIV",
    -22000: "SYS_SVR_TO_SVR_CONNECT_FAILED",
    -27000: "SYS_COPY_LEN_ERR",
    -31000: "SYS_INVALID_FILE_PATH",
    -38000: "SYS_AGENT_INIT_ERR",
    -105000: "SYS_RESC_IS_DOWN",
    -115000: "SYS_SOCK_READ_TIMEDOUT",
    -130000: "SYS_INVALID_INPUT_PARAM",
    -154000: "SYS_INTERNAL_ERR",
    -164000: "SYS_REPLICA_DOES_NOT_EXIST",
    -165000: "SYS_UNKNOWN_ERROR",
    -166000: "SYS_NO_GOOD_REPLICA",
    -168000: "SYS_REPLICA_INACCESSIBLE",
    -169000: "SYS_NOT_ALLOWED",
    -178000: "AUTHENTICATION_ERROR",
    -304000: "USER_SOCK_OPEN_ERR",
    -305000: "USER_SOCK_CONNECT_ERR",
    -308000: "USER_PACKSTRUCT_INPUT_ERR",
    -310000: "USER_FILE_DOES_NOT_EXIST",
    -312000: "OVERWRITE_WITHOUT_FORCE_FLAG",
    -314000: "USER_CHKSUM_MISMATCH",
    -317000: "USER_INPUT_PATH_ERR",
    -347000: "USER_SOCK_CONNECT_TIMEDOUT",
    -358000: "OBJ_PATH_DOES_NOT_EXIST",
    -401000: "USER_FILE_SIZE_MISMATCH",
    -405000: "INTERMEDIATE_REPLICA_ACCESS",
    -406000: "LOCKED_DATA_OBJECT_ACCESS",
    -808000: "CAT_NO_ROWS_FOUND",
    -809000: "CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME",
    -814000: "CAT_UNKNOWN_COLLECTION",
    -817000: "CAT_UNKNOWN_FILE",
    -818000: "CAT_NO_ACCESS_PERMISSION",
    -826000: "CAT_INVALID_AUTHENTICATION",
    -827000: "CAT_INVALID_USER",
    -830000: "CAT_INSUFFICIENT_PRIVILEGE_LEVEL",
    -833000: "CAT_NAME_EXISTS_AS_COLLECTION",
    -834000: "CAT_NAME_EXISTS_AS_DATAOBJ",
    -836000: "CAT_NOT_A_DATAOBJ_AND_NOT_A_COLLECTION",
    -840000: "CAT_PASSWORD_EXPIRED",
    -850000: "CAT_PASSWORD_ENCODING_ERROR",
    -993000: "PAM_AUTH_PASSWORD_FAILED",
    -1803000: "HIERARCHY_ERROR",
}

# Faults a later attempt can cure: the network, a busy/restarting agent, a replica still
# locked by another writer.
_TRANSIENT = frozenset({
    -1000, -4000, -5000, -9000, -22000, -38000, -105000, -115000, -154000,
    -166000, -168000, -304000, -305000, -347000, -405000, -406000, -1803000,
})
_AUTH = frozenset({-178000, -826000, -827000, -840000, -850000, -993000})
_NOT_FOUND = frozenset({-164000, -310000, -358000, -808000, -814000, -817000})
_PERMISSION = frozenset({-818000, -830000, -169000})
_BAD_PATH = frozenset({-31000, -308000, -317000, -833000, -834000, -836000})
_MISMATCH = frozenset({-27000, -314000, -401000})
_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def nominal_code(code: int) -> int:
    """Round an iRODS code towards zero to its thousand, as PRC does (−510002 → −510000)."""
    return -1000 * (abs(code) // 1000)


def error_name(code: int) -> str:
    """A readable name for an iRODS code, for messages and logs."""
    return _NAMES.get(nominal_code(code), f"iRODS error {code}")


def _code_to_mango(code: int, path: str | None, cause: str) -> MangoError:
    """Classify one iRODS error code. ``cause`` is PRC's text, kept only for context."""
    nominal = nominal_code(code)
    name = error_name(code)
    detail = f"{name} ({code})" + (f": {cause}" if cause else "")
    if nominal == -827000:  # the server knows no such user in that zone
        return AuthError(f"the server refused the login: {detail}", path=path,
                         hint="check irods_user_name and irods_zone_name (case matters) in "
                              "your environment file, then log in again with `mango-transfer "
                              "login USER ZONE HOST`")
    if nominal in _AUTH:
        return AuthError(f"the server refused the login: {detail}", path=path)
    if nominal in _NOT_FOUND:
        return RemoteNotFound(f"no such collection or data object ({name})", path=path)
    if nominal == -13000:
        return PermissionDenied("the server allows this operation to iRODS administrators only "
                                "(SYS_NO_API_PRIV), and this account is not one", path=path,
                                hint="report this as a bug in mango-transfer: it must not "
                                     "need admin rights")
    if nominal in _PERMISSION:
        return PermissionDenied(f"the server denied access ({name})", path=path)
    if nominal in _MISMATCH:
        return VerificationFailed(f"the server rejected the data: {detail}", path=path)
    if abs(code) % 1000 in _NO_SPACE_ERRNOS:
        return DiskFull(f"the iRODS resource is full ({name})", path=path,
                        hint="ask your iRODS administrator for space, then run the command again")
    if nominal == -312000:
        return TransferFailed("the data object exists and overwriting was not allowed", path=path,
                              hint="use --force to overwrite")
    if nominal in _BAD_PATH:
        return TransferFailed(f"invalid iRODS path ({name})", path=path,
                              hint="check the name: no '..', '//', trailing '/' or over-long names")
    return TransferFailed(f"iRODS error {detail}", path=path, retryable=nominal in _TRANSIENT)


def _missing_class_code(exc: KeyError) -> int | None:
    """The iRODS code inside PRC 3.3.0's ``KeyError`` for codes without a class, else None."""
    if len(exc.args) == 1 and type(exc.args[0]) is int and exc.args[0] <= -1000:
        return exc.args[0]
    return None


_NETWORK_TYPES = (NetworkException, ConnectionError, TimeoutError, socket.gaierror, ssl.SSLError)


def _network_to_mango(exc: BaseException, path: str | None) -> MangoError:
    """Sockets, TLS and DNS: transient except certificate and name-resolution setup errors."""
    inner = exc.__cause__ or exc.__context__
    if isinstance(exc, NetworkException) and isinstance(inner, _NETWORK_TYPES):
        # PRC wraps the socket error in its own class; the inner one says what really happened.
        return _network_to_mango(inner, path)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
        return ConnectionFailed(f"the server's TLS certificate was rejected ({reason})",
                                path=path, retryable=False,
                                hint="check irods_ssl_ca_certificate_file in your environment file")
    if isinstance(exc, socket.gaierror):
        return ConnectionFailed(f"unknown host name ({exc.strerror})", path=path, retryable=False,
                                hint="check irods_host in your environment file")
    if isinstance(exc, NetworkException) and "negotiation failure" in str(exc):
        # PRC gives a policy mismatch no type of its own; it is a setting, not a network fault.
        return ConnectionFailed(f"TLS negotiation with the server failed ({exc})", path=path,
                                retryable=False,
                                hint="check irods_client_server_policy in your environment file")
    return ConnectionFailed(f"connection to the iRODS server failed ({exc or type(exc).__name__})",
                            path=path)


def to_mango_error(exc: BaseException, path: str | None = None) -> MangoError | None:
    """The MangoError for a PRC-side exception, or None when it is not one we know.

    Exposed (besides the context manager) so a retry loop or a task group's ``except*`` can
    classify an exception it already holds.
    """
    if isinstance(exc, MangoError):
        return exc
    if isinstance(exc, _NETWORK_TYPES):
        return _network_to_mango(exc, path)
    if isinstance(exc, iRODSException):
        return _code_to_mango(int(getattr(exc, "code", 0)), path, str(exc).strip("()'\""))
    if isinstance(exc, KeyError) and (code := _missing_class_code(exc)) is not None:
        return _code_to_mango(code, path, "")
    if isinstance(exc, DoesNotExist):
        return RemoteNotFound(f"no such collection or data object ({type(exc).__name__})",
                              path=path)
    if isinstance(exc, NonAnonymousLoginWithoutPassword):
        return AuthError(f"no stored iRODS password ({exc})", path=path)
    if isinstance(exc, ClientAuthError):  # an authentication flow the server ended unsuccessful
        return AuthError(f"the server did not accept the login ({exc})", path=path)
    if isinstance(exc, OSError):
        return os_error_to_mango(exc, exc.filename)
    return None


@contextmanager
def translate_irods_errors(path: str | None = None) -> Iterator[None]:
    """Run PRC calls; re-raise what they throw as MangoError, chained with ``from``.

    ``path`` is the iRODS path the block works on; it is named in the message. Exceptions that
    are not PRC's (programming errors) pass through untouched, so bugs keep their traceback.
    """
    try:
        yield
    except MangoError:
        raise
    except Exception as exc:
        mango = to_mango_error(exc, path)
        if mango is None:
            raise
        raise mango from exc
