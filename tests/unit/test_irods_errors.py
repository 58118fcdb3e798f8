"""PRC exceptions → MangoError, classified retryable or not (no server needed)."""

from __future__ import annotations

import errno
import socket
import ssl

import pytest
from irods.exception import (
    CollectionDoesNotExist,
    DataObjectDoesNotExist,
    NetworkException,
    get_exception_by_code,
)
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
from mango_transfer.irods.errors import error_name, nominal_code, translate_irods_errors


def prc_key_error(code: int) -> KeyError:
    """What PRC 3.3.0 raises for a code it has no class for."""
    with pytest.raises(KeyError) as info:
        get_exception_by_code(code, "msg")
    return info.value


def network_error(inner: BaseException) -> NetworkException:
    try:
        try:
            raise inner
        except OSError:
            raise NetworkException("Could not connect to specified host and port: h:1") from None
    except NetworkException as exc:
        exc.__context__ = inner
        return exc


CASES: list[tuple[str, BaseException, type[MangoError], bool]] = [
    ("no-access", get_exception_by_code(-818000, "x"), PermissionDenied, False),
    ("bad-password", get_exception_by_code(-826000), AuthError, False),
    ("unknown-user", get_exception_by_code(-827000), AuthError, False),
    ("pam-failed", get_exception_by_code(-993000), AuthError, False),
    ("obj-missing", get_exception_by_code(-358000), RemoteNotFound, False),
    ("coll-unknown", get_exception_by_code(-814000), RemoteNotFound, False),
    ("data-object-does-not-exist", DataObjectDoesNotExist(), RemoteNotFound, False),
    ("collection-does-not-exist", CollectionDoesNotExist("/z/c"), RemoteNotFound, False),
    ("checksum-mismatch", get_exception_by_code(-314000), VerificationFailed, True),
    ("overwrite", get_exception_by_code(-312000), TransferFailed, False),
    ("bad-path", get_exception_by_code(-317000), TransferFailed, False),
    ("read-timeout", get_exception_by_code(-115000), TransferFailed, True),
    ("locked", get_exception_by_code(-406000), TransferFailed, True),
    ("hierarchy", get_exception_by_code(-1803000), TransferFailed, True),
    ("server-disk-full", get_exception_by_code(-513000 - errno.ENOSPC), DiskFull, False),
    ("keyerror-intermediate", prc_key_error(-405000), TransferFailed, True),
    ("keyerror-auth", prc_key_error(-178000), AuthError, False),
    ("keyerror-unknown-resc", prc_key_error(-852000), TransferFailed, False),
    ("network", NetworkException("Could not receive server response"), ConnectionFailed, True),
    ("reset", ConnectionResetError(errno.ECONNRESET, "reset"), ConnectionFailed, True),
    ("timeout", TimeoutError("timed out"), ConnectionFailed, True),
    ("refused-wrapped", network_error(ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
     ConnectionFailed, True),
    ("dns-wrapped", network_error(socket.gaierror(socket.EAI_NONAME, "Name unknown")),
     ConnectionFailed, False),
    ("negotiation", NetworkException("Client-Server negotiation failure: CS_NEG_REFUSE,x"),
     ConnectionFailed, False),
    ("tls-cert", ssl.SSLCertVerificationError(1, "certificate verify failed"), ConnectionFailed,
     False),
    ("no-password", NonAnonymousLoginWithoutPassword("Authentication file not found"), AuthError,
     False),
    ("local-enospc", OSError(errno.ENOSPC, "No space left on device", "/tmp/x"), DiskFull, False),
]


@pytest.mark.parametrize(("exc", "expected", "retryable"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_translation(exc: BaseException, expected: type[MangoError], retryable: bool) -> None:
    with pytest.raises(MangoError) as info, translate_irods_errors("/z/home/u/f"):
        raise exc
    error = info.value
    assert type(error) is expected
    assert error.retryable is retryable
    assert error.__cause__ is exc
    message = error.user_message()
    assert "\n" not in message
    assert error.path is None or message.startswith(f"{error.path}: ")


def test_mango_errors_and_bugs_pass_through() -> None:
    original = RemoteNotFound("gone", path="/p")
    with pytest.raises(RemoteNotFound) as info, translate_irods_errors():
        raise original
    assert info.value is original
    with pytest.raises(ZeroDivisionError), translate_irods_errors():
        _ = 1 / 0
    with pytest.raises(KeyError), translate_irods_errors():
        raise KeyError("not an iRODS code")


def test_codes() -> None:
    assert nominal_code(-510002) == -510000
    assert nominal_code(-818000) == -818000
    assert nominal_code(-999) == 0
    assert error_name(-818000) == "CAT_NO_ACCESS_PERMISSION"
    assert error_name(-405000) == "INTERMEDIATE_REPLICA_ACCESS"
    assert error_name(-123456000) == "iRODS error -123456000"
