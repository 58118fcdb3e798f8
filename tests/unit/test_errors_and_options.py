"""The error tree's contract, and the options table."""

from __future__ import annotations

import dataclasses
import errno

import click
import pytest
from click.testing import CliRunner

from mango_transfer import errors
from mango_transfer.cli.options import options_from_params, transfer_options
from mango_transfer.engine.decide import SkipRules
from mango_transfer.engine.options import (
    OPTION_TABLE,
    AclGrant,
    TransferOptions,
    parse_acl,
    parse_size,
)
from mango_transfer.errors import (
    ConfigError,
    DiskFull,
    MangoError,
    UsageError,
    VerificationFailed,
)
from mango_transfer.localfs.errors import os_error_to_mango


def test_every_error_is_a_mango_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), MangoError)


def test_messages_are_one_line_and_name_things() -> None:
    error = ConfigError("is the string \"1247\"\nbut must be a number", path="/e.json",
                        field="irods_port", hint="write 1247")
    assert error.user_message() == ('/e.json: field "irods_port": is the string "1247" but must '
                                    "be a number; write 1247")
    assert str(error) == error.user_message()
    mismatch = VerificationFailed("checksum differs", path="f", expected="sha2:a", actual="sha2:b")
    assert "expected sha2:a, got sha2:b" in mismatch.user_message() and mismatch.retryable


def test_disk_full_says_the_partial_is_kept() -> None:
    error = os_error_to_mango(OSError(errno.ENOSPC, "No space left on device"), "/d/f",
                              partial="/d/.f.x.mtpartial")
    assert isinstance(error, DiskFull) and not error.retryable
    assert "/d/.f.x.mtpartial is kept" in error.user_message()


def test_retryable_can_be_set_per_instance() -> None:
    assert errors.TransferFailed("busy", retryable=True).retryable
    assert not errors.TransferFailed("no").retryable
    assert errors.ConnectionFailed("x").retryable


def test_options_table_covers_every_field() -> None:
    fields = {f.name for f in dataclasses.fields(TransferOptions)}
    assert {spec.name for spec in OPTION_TABLE} == fields
    assert all(spec.envvar == "MANGO_" + spec.name.upper() for spec in OPTION_TABLE)


def test_defaults_and_rules() -> None:
    options = TransferOptions()
    assert (options.chunk_threshold, options.chunk_connections, options.retries) == (
        32 * 1024 * 1024, 4, 3)
    assert options.skip_rules() == SkipRules()
    assert [options.backoff(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert options.backoff(50) == 60.0


@pytest.mark.parametrize("bad", [{"threads": 0}, {"retries": -1}, {"retry_backoff": -1.0}])
def test_invalid_options(bad: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        TransferOptions(**bad)  # type: ignore[arg-type]


def test_parsers() -> None:
    assert parse_size("32M") == parse_size("32MiB") == 32 * 1024 * 1024
    assert parse_size("4096") == 4096
    assert parse_acl("bob#otherZone:read") == AclGrant("bob#otherZone", "read")
    for bad in ("bob", ":read", "bob:reed"):
        with pytest.raises(UsageError):
            parse_acl(bad)
    with pytest.raises(UsageError):
        parse_size("lots")


def make_command(name: str) -> click.Command:
    @click.command(name)
    @transfer_options(name)
    def command(**params: object) -> None:
        click.echo(repr(options_from_params(params)))

    return command


def test_cli_options_flags_and_env() -> None:
    result = CliRunner().invoke(
        make_command("sync"),
        ["-c", "--threads", "3", "--chunk-threshold", "64M", "--acl", "bob:read", "--delete"],
        env={"MANGO_RETRIES": "5", "MANGO_VERIFY": "1"},
    )
    assert result.exit_code == 0, result.output
    expected = TransferOptions(threads=3, checksum=True, chunk_threshold=64 * 1024 * 1024,
                               acl=(AclGrant("bob", "read"),), delete=True, retries=5,
                               verify=True)
    assert result.output.strip() == repr(expected)


def test_cli_options_per_command() -> None:
    assert "--delete" not in CliRunner().invoke(make_command("upload"), ["--help"]).output
    assert "--acl" not in CliRunner().invoke(make_command("download"), ["--help"]).output
    result = CliRunner().invoke(make_command("upload"), ["--acl", "bob:reed"])
    assert result.exit_code == 2 and "USER:LEVEL" in result.output
