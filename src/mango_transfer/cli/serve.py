"""``mango-transfer serve``: run the embedded iRODS-protocol server."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import anyio
import click

from ..server import Faults, FaultSpecError, ServerConfig, run_until_signal

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup


def _os_error(exc: BaseException) -> OSError | None:
    """``exc`` when it is an OSError, else the first one in a (nested) exception group."""
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _os_error(inner)) is not None:
                return found
    return None


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Catalog and vault live here; reusing it keeps the zone's state.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=1247, show_default=True, help="0 picks a free port.")
@click.option("--zone", default="tempZone", show_default=True)
@click.option("--user", default="rods", show_default=True, help="The zone's rodsadmin.")
@click.option("--password", default="rods", show_default=True)
@click.option("--client-env", "client_env", type=click.Path(file_okay=False, path_type=Path),
              help="Write irods_environment.json and .irodsA here once listening.")
@click.option("--ssl", "use_ssl", is_flag=True, help="Require TLS (CS_NEG_REQUIRE) with a throw-away CA.")
@click.option("--faults", default="", help="Fault injection spec, e.g. 'delay_ms=10,fail=676:3:-1803000'.")
@click.option("--pam-insecure", is_flag=True, help="Allow PAM schemes without TLS (tests only).")
def serve(data_dir: Path, host: str, port: int, zone: str, user: str, password: str,
          client_env: Path | None, use_ssl: bool, faults: str, pam_insecure: bool) -> None:
    """Run an iRODS 5.0.2-compatible server on HOST:PORT until SIGINT/SIGTERM."""
    try:
        Faults.parse(faults)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from exc
    if port < 0 or port > 65535:
        raise click.BadParameter(f"{port} is not a TCP port", param_hint="--port")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = ServerConfig(data_dir=data_dir, host=host, port=port, zone=zone, user=user,
                          password=password, client_env_dir=client_env, ssl=use_ssl,
                          faults=faults, pam_allow_insecure=pam_insecure)
    try:
        anyio.run(run_until_signal, config)
    except (OSError, BaseExceptionGroup) as exc:  # the listener fails inside a task group
        error = _os_error(exc)
        if error is None:
            raise
        raise click.ClickException(f"cannot listen on {host}:{port}: "
                                   f"{error.strerror or error}") from exc
    except ValueError as exc:
        raise click.ClickException(f"{data_dir}: {exc}") from exc
