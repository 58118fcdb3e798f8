"""Every bad input of the issue: one line naming the field/path and what to do, exit ≠ 0, no
traceback. Runs the real CLI (click's CliRunner) against the embedded server."""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mango_transfer.cli.main import main
from mango_transfer.server.client_env import write_client_files
from tests.conftest import write_file
from tests.zones import Zone


def _invoke(env_file: Path, auth_file: Path, *args: str) -> Result:
    env = {"IRODS_ENVIRONMENT_FILE": str(env_file), "IRODS_AUTHENTICATION_FILE": str(auth_file),
           "XDG_STATE_HOME": str(env_file.parent / "state")}
    return CliRunner().invoke(main, [*args], env=env)


def _one_line_error(result: Result, *fragments: str, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("mango-transfer:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def client(tmp_path: Path, zone: Zone) -> tuple[Path, Path, dict[str, object]]:
    """A private copy of the test user's client files, for the test to break."""
    settings = json.loads(zone.user.env_file.read_text())
    env_file, auth_file = write_client_files(tmp_path / "client", settings, zone.user.password)
    return env_file, auth_file, settings


def _write(env_file: Path, settings: dict[str, object]) -> None:
    env_file.write_text(json.dumps(settings))


def test_environment_file_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "irods_environment.json"
    result = _invoke(missing, tmp_path / ".irodsA", "upload", str(tmp_path), "/tempZone/x",
                     "-q")
    _one_line_error(result, str(missing), "environment file not found", "mango-transfer login")


def test_invalid_json(client: tuple[Path, Path, dict[str, object]], tmp_path: Path) -> None:
    env_file, auth_file, _ = client
    env_file.write_text('{"irods_host": "x",}')
    result = _invoke(env_file, auth_file, "download", "/tempZone/home", str(tmp_path / "o"),
                     "-q")
    _one_line_error(result, str(env_file), "invalid JSON at line 1")


@pytest.mark.parametrize("key", ["irods_port", "irods_authentication_uid"])
def test_number_as_string_named_and_fixable(
    client: tuple[Path, Path, dict[str, object]], tmp_path: Path, key: str,
) -> None:
    env_file, auth_file, settings = client
    value = str(settings.get(key, os.getuid()))  # the uid .irodsA was scrambled with
    _write(env_file, {**settings, key: value})
    result = _invoke(env_file, auth_file, "upload", str(tmp_path), "/tempZone/x", "-q")
    _one_line_error(result, f'field "{key}"', f'"{value}"', "check --fix")

    fixed = _invoke(env_file, auth_file, "check", "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "backup written" in fixed.output and "OK; connected" in fixed.output
    assert json.loads(env_file.read_text())[key] == int(value)
    assert json.loads(env_file.with_name(env_file.name + ".bak").read_text())[key] == value


def test_missing_keys(client: tuple[Path, Path, dict[str, object]], tmp_path: Path) -> None:
    env_file, auth_file, settings = client
    _write(env_file, {k: v for k, v in settings.items() if k != "irods_host"})
    result = _invoke(env_file, auth_file, "check")
    _one_line_error(result, 'field "irods_host"', "required field is missing")


def test_wrong_password(client: tuple[Path, Path, dict[str, object]], tmp_path: Path,
                        zone: Zone) -> None:
    env_file, _, settings = client
    env_file, auth_file = write_client_files(env_file.parent, settings, "not-the-password")
    result = _invoke(env_file, auth_file, "upload", str(tmp_path), f"{zone.home}/x", "-q")
    _one_line_error(result, "refused the login", "mango-transfer login")


def test_server_unreachable(client: tuple[Path, Path, dict[str, object]], tmp_path: Path,
                            zone: Zone) -> None:
    env_file, auth_file, settings = client
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _write(env_file, {**settings, "irods_port": port})
    result = _invoke(env_file, auth_file, "upload", str(tmp_path), f"{zone.home}/x",
                     "-q", "--retries", "0")
    _one_line_error(result, "connection to the iRODS server failed", "irods_port")


def test_local_source_missing(client: tuple[Path, Path, dict[str, object]], tmp_path: Path,
                              zone: Zone) -> None:
    env_file, auth_file, _ = client
    result = _invoke(env_file, auth_file, "upload", str(tmp_path / "gone"), f"{zone.home}/x",
                     "-q")
    _one_line_error(result, str(tmp_path / "gone"), "local source does not exist")


def test_remote_source_missing(client: tuple[Path, Path, dict[str, object]], tmp_path: Path,
                               zone: Zone) -> None:
    env_file, auth_file, _ = client
    result = _invoke(env_file, auth_file, "download", f"{zone.home}/gone", str(tmp_path / "o"),
                     "-q")
    _one_line_error(result, f"{zone.home}/gone", "remote source does not exist")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_no_permission_on_destination(zone: Zone, remote_dir: str, tmp_path: Path) -> None:
    """The second user uploads into the test user's collection, which it was never given."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    result = _invoke(zone.other.env_file, zone.other.auth_file, "upload", str(src), remote_dir,
                     "-q")
    _one_line_error(result, remote_dir, "cannot create or see the destination collection",
                    "ask the owner for access")


def test_sync_needs_one_remote_side(client: tuple[Path, Path, dict[str, object]],
                                    tmp_path: Path) -> None:
    env_file, auth_file, _ = client
    result = _invoke(env_file, auth_file, "sync", str(tmp_path), str(tmp_path / "b"), "-q")
    _one_line_error(result, "exactly one iRODS side")


@pytest.mark.parametrize("size", [pytest.param(5, id="single-buffer"),
                                  pytest.param(40 << 20, id="chunked")])
def test_upload_onto_an_object_the_user_may_only_read(zone: Zone, remote_dir: str,
                                                      tmp_path: Path, size: int) -> None:
    """The second user may create in the collection but only read the object it would replace:
    the file fails by name with a permission message, not an iRODS error number."""
    from irods.access import iRODSAccess

    with zone.user.session() as owner:
        with owner.data_objects.open(f"{remote_dir}/a.bin", "w") as handle:
            handle.write(b"orig")
        owner.acls.set(iRODSAccess("write", remote_dir, zone.other.name))
        owner.acls.set(iRODSAccess("read", f"{remote_dir}/a.bin", zone.other.name))
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(size))
    result = _invoke(zone.other.env_file, zone.other.auth_file, "upload", str(src), remote_dir,
                     "-q", "--chunk-threshold", "32M")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: a.bin:")]
    assert len(failed) == 1, result.stderr
    assert "the data object exists and this user may not write it" in failed[0]
    assert "ask its owner for write access" in failed[0]
    with zone.user.session() as owner, owner.data_objects.open(f"{remote_dir}/a.bin", "r") as handle:
        assert handle.read() == b"orig"


# -- the table: every command, every bad input, one line ---------------------------------------
@dataclass
class Setup:
    """What one row of the table may break or name: the test user's client files (a private
    copy), a local folder with one file, a fresh collection name and a scratch folder."""

    tmp: Path
    zone: Zone
    env_file: Path
    auth_file: Path
    settings: dict[str, object]
    remote: str

    @property
    def src(self) -> Path:
        folder = self.tmp / "src"
        write_file(folder / "a.txt", b"a")
        return folder

    def env(self) -> dict[str, str]:
        return {"IRODS_ENVIRONMENT_FILE": str(self.env_file),
                "IRODS_AUTHENTICATION_FILE": str(self.auth_file),
                "XDG_STATE_HOME": str(self.tmp / "state")}

    def rewrite(self, **changes: object) -> None:
        settings = {**self.settings, **changes}
        _write(self.env_file, {k: v for k, v in settings.items() if v is not None})


def _no_env(s: Setup) -> None:
    s.env_file.unlink()


def _bad_json(s: Setup) -> None:
    s.env_file.write_text('{"irods_host": "x",}')


def _port_as_string(s: Setup) -> None:
    s.rewrite(irods_port=str(s.settings["irods_port"]))


def _no_host(s: Setup) -> None:
    s.rewrite(irods_host=None)


def _no_irodsa(s: Setup) -> None:
    s.auth_file.unlink()


def _empty_irodsa(s: Setup) -> None:
    s.auth_file.write_bytes(b"")


def _garbled_irodsa(s: Setup) -> None:
    s.auth_file.write_bytes(b"!")


def _wrong_password(s: Setup) -> None:
    write_client_files(s.env_file.parent, s.settings, "not-the-password")


def _wrong_zone(s: Setup) -> None:
    s.rewrite(irods_zone_name="noSuchZone")


def _unreachable(s: Setup) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        s.rewrite(irods_port=probe.getsockname()[1])


def _nothing(s: Setup) -> None:
    return None


Args = Callable[[Setup], list[str]]
# Every command that reads the environment, as it is typed with good arguments.
_COMMANDS: dict[str, Args] = {
    "upload": lambda s: ["upload", str(s.src), s.remote, "-q", "--retries", "0"],
    "download": lambda s: ["download", s.zone.user.home, str(s.tmp / "out"), "-q"],
    "sync": lambda s: ["sync", str(s.src), f"irods:{s.remote}", "-q", "--retries", "0"],
    "diff": lambda s: ["diff", str(s.src), f"irods:{s.zone.user.home}"],
    "ls": lambda s: ["ls", s.zone.user.home],
    "du": lambda s: ["du", s.zone.user.home],
    "check": lambda s: ["check"],
    "ingest": lambda s: ["ingest", "-d", s.remote, "-p", str(s.src), "--sync", "-nw"],
}
_ENVIRONMENT_FAULTS: list[tuple[str, Callable[[Setup], None], str, tuple[str, ...]]] = [
    ("no-environment-file", _no_env, "environment file not found", tuple(_COMMANDS)),
    ("invalid-json", _bad_json, "invalid JSON at line 1", ("upload", "ls", "check", "ingest")),
    ("port-as-string", _port_as_string, 'field "irods_port"', ("download", "du", "check")),
    ("missing-host", _no_host, "required field is missing", ("sync", "check")),
    ("no-irodsA", _no_irodsa, "no iRODS credentials were found", tuple(_COMMANDS)),
    ("empty-irodsA", _empty_irodsa, "is empty or damaged", ("check", "download", "ingest")),
    ("garbled-irodsA", _garbled_irodsa, "is empty or damaged", ("du", "diff", "sync")),
    ("wrong-password", _wrong_password, "refused the login", ("upload", "ls", "check")),
    ("wrong-zone-name", _wrong_zone, "irods_zone_name", ("check", "du", "download")),
    ("server-unreachable", _unreachable, "connection to the iRODS server failed",
     ("upload", "check", "ls")),
]
# Bad arguments, each for the commands it applies to.
_ARGUMENT_FAULTS: list[tuple[str, Args, str]] = [
    ("acl-unknown-user", lambda s: ["upload", str(s.src), s.remote, "--acl", "nosuchuser:read"],
     "the zone has no user or group 'nosuchuser'"),
    ("acl-unknown-user-sync", lambda s: ["sync", str(s.src), f"irods:{s.remote}", "--acl",
                                         "nosuchuser#" + s.zone.zone_name + ":own"],
     "the zone has no user or group"),
    ("acl-bad-level", lambda s: ["upload", str(s.src), s.remote, "--acl", "bob:rw"],
     "USER:LEVEL"),
    ("json-report-folder-missing", lambda s: ["upload", str(s.src), s.remote, "--json-report",
                                              str(s.tmp / "no" / "such" / "r.json")],
     "cannot write the --json-report file"),
    ("json-report-download", lambda s: ["download", s.zone.user.home, str(s.tmp / "o"),
                                        "--json-report", "/proc/version"],
     "cannot write the --json-report file"),
    ("json-report-sync", lambda s: ["sync", str(s.src), f"irods:{s.remote}", "--json-report",
                                    str(s.tmp / "missing" / "r.json")],
     "cannot write the --json-report file"),
    ("json-report-diff", lambda s: ["diff", str(s.src), f"irods:{s.zone.user.home}",
                                    "--json-report", str(s.tmp / "missing" / "r.json")],
     "cannot write the --json-report file"),
    ("json-report-is-a-folder", lambda s: ["upload", str(s.src), s.remote, "--json-report",
                                           str(s.tmp)], "is a directory"),
    ("local-source-missing", lambda s: ["upload", str(s.tmp / "gone"), s.remote],
     "local source does not exist"),
    ("remote-source-missing", lambda s: ["download", f"{s.zone.user.home}/gone",
                                         str(s.tmp / "o")], "remote source does not exist"),
    ("sync-without-remote-side", lambda s: ["sync", str(s.src), str(s.tmp / "b")],
     "exactly one iRODS side"),
    ("max-delete-not-a-number", lambda s: ["sync", str(s.src), f"irods:{s.remote}", "--delete",
                                           "--max-delete", "many"], "invalid count 'many'"),
    ("backup-dir-inside-destination", lambda s: ["sync", f"irods:{s.zone.user.home}",
                                                 str(s.tmp / "d"), "--backup-dir",
                                                 str(s.tmp / "d" / "old")],
     "--backup-dir must be outside the destination folder"),
    ("backup-dir-remote-destination", lambda s: ["sync", str(s.src), f"irods:{s.remote}",
                                                 "--backup-dir", str(s.tmp / "b")],
     "--backup-dir keeps local files"),
    ("links-and-copy-links", lambda s: ["upload", str(s.src), s.remote, "--links",
                                        "--copy-links"], "exclude each other"),
    ("unknown-option", lambda s: ["download", "--no-such-flag"], "No such option"),
    ("missing-argument", lambda s: ["upload", str(s.src)], "Missing argument"),
    ("unknown-command", lambda s: ["uplod"], "No such command"),
    ("threads-zero", lambda s: ["upload", str(s.src), s.remote, "--threads", "0"],
     "--threads must be at least 1"),
    ("bad-size", lambda s: ["download", s.zone.user.home, str(s.tmp / "o"),
                            "--chunk-threshold", "lots"], "invalid size 'lots'"),
    ("ls-missing-collection", lambda s: ["ls", f"{s.zone.user.home}/gone"], "does not exist"),
    ("ingest-folder-missing", lambda s: ["ingest", "-d", s.remote, "-p", str(s.tmp / "gone")],
     "gone"),
    ("check-fix-invalid-json", lambda s: (_bad_json(s), ["check", "--fix"])[1], "invalid JSON"),
    ("login-missing-ca", lambda s: ["login", "alice", "tempZone", "127.0.0.1", "--ca-file",
                                    str(s.tmp / "no-ca.pem")], "the CA file does not exist"),
    ("login-unknown-host", lambda s: ["login", "alice", "tempZone", "no-such-host.invalid"],
     "check the host name 'no-such-host.invalid' you typed"),
    ("serve-bad-port", lambda s: ["serve", "--data-dir", str(s.tmp / "z"), "--port", "70000"],
     "is not a TCP port"),
    ("bench-bad-sweep", lambda s: ["bench", "--rtt-sweep", "abc"], "--rtt-sweep"),
]
_ROWS = [pytest.param(fault, command, needle, id=f"{name}-{command}")
         for name, fault, needle, commands in _ENVIRONMENT_FAULTS for command in commands]
_ROWS += [pytest.param(_nothing, args, needle, id=name) for name, args, needle in _ARGUMENT_FAULTS]


def _assert_one_line(code: int, output: str, needle: str) -> str:
    lines = output.strip().splitlines()
    assert code != 0, output
    assert "Traceback" not in output, output
    assert len(lines) == 1, output
    assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def setup(client: tuple[Path, Path, dict[str, object]], tmp_path: Path, zone: Zone,
          remote_dir: str, restore_root_logging: None) -> Setup:
    env_file, auth_file, settings = client
    return Setup(tmp_path, zone, env_file, auth_file, settings, f"{remote_dir}/target")


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    """A command may configure logging (serve, ingest): leave the test process as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(("fault", "command", "needle"), _ROWS)
def test_every_bad_input_is_one_line(setup: Setup, fault: Callable[[Setup], None],
                                     command: str | Args, needle: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit ≠ 0, exactly one line of output (stdout and stderr), no traceback; and nothing was
    uploaded where an upload was refused before it started."""
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": pytest.fail(f"prompted: {prompt}"))
    args = _COMMANDS[command](setup) if isinstance(command, str) else command(setup)
    fault(setup)
    result = CliRunner().invoke(main, args, env=setup.env(), input="")
    _assert_one_line(result.exit_code, result.output, needle)
    with setup.zone.user.session() as session:
        assert not session.collections.exists(setup.remote)  # refused before any upload


def _without_extra(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process where Celery and Redis cannot be imported (the extra missing)."""
    code = ("import sys; sys.modules['celery'] = sys.modules['redis'] = None; "
            "from mango_transfer.cli.main import main; main()")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


@pytest.mark.parametrize("command", ["upload", "worker"])
def test_celery_without_the_extra_is_one_line(setup: Setup, command: str) -> None:
    args = (["upload", str(setup.src), setup.remote, "--celery", "redis://127.0.0.1:1/0"]
            if command == "upload" else ["worker", "--celery", "redis://127.0.0.1:1/0"])
    done = subprocess.run([sys.executable, "-c", "pass"], check=True)  # the interpreter works
    assert done.returncode == 0
    result = _without_extra(*args)
    line = _assert_one_line(result.returncode, result.stdout + result.stderr,
                            'pip install "mango-transfer[celery]"')
    assert "--celery needs the optional Celery support" in line


def test_serve_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", "from mango_transfer.cli.main import main; main()", "serve",
             "--data-dir", str(tmp_path / "zone"), "--port", str(port)],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    _assert_one_line(result.returncode, result.stdout + result.stderr,
                     f"cannot listen on 127.0.0.1:{port}: Address already in use")
