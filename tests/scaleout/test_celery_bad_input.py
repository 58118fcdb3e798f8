"""Scale-out mistakes: one line naming what is wrong, exit code 2, no traceback, nothing moved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scaleout.conftest import _free_port, environ_for
from tests.zones import Zone


def _run(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mango_transfer", *args], env=environ,
                          capture_output=True, text=True, timeout=60)


def _one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("mango-transfer:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    return tmp_path / "src"


def test_an_unreachable_broker_is_named(zone: Zone, remote_dir: str,
                                        source: Path, tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    result = _run(environ_for(zone, tmp_path), "upload", str(source), remote_dir,
                  "--celery", url)
    _one_line_error(result, url, "cannot reach the Celery broker")


def test_a_broker_url_that_is_not_redis_is_named(zone: Zone, remote_dir: str,
                                                 source: Path, tmp_path: Path) -> None:
    result = _run(environ_for(zone, tmp_path), "upload", str(source), remote_dir,
                  "--celery", "amqp://host/")
    _one_line_error(result, "amqp://host/", "redis://")


def test_delete_is_refused_with_celery(zone: Zone, redis_url: str,
                                       remote_dir: str, source: Path, tmp_path: Path) -> None:
    result = _run(environ_for(zone, tmp_path), "sync", str(source), f"irods:{remote_dir}",
                  "--delete", "--celery", redis_url)
    _one_line_error(result, "--delete", "--celery")


def test_bad_batch_sizes_are_refused(zone: Zone, redis_url: str,
                                     remote_dir: str, source: Path, tmp_path: Path) -> None:
    env = environ_for(zone, tmp_path)
    _one_line_error(_run(env, "upload", str(source), remote_dir, "--celery", redis_url,
                         "--batch-files", "0"), "--batch-files")
    _one_line_error(_run(env, "upload", str(source), remote_dir, "--celery", redis_url,
                         "--batch-bytes", "lots"), "lots")


def test_a_worker_without_an_irods_environment_says_so(redis_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "IRODS_ENVIRONMENT_FILE": str(tmp_path / "missing.json"),
           "IRODS_AUTHENTICATION_FILE": str(tmp_path / ".irodsA")}
    result = _run(env, "worker", "--celery", redis_url)
    _one_line_error(result, "missing.json")


def test_a_worker_with_an_unreachable_broker_says_so(zone: Zone,
                                                     tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    result = _run(environ_for(zone, tmp_path), "worker", "--celery", url)
    _one_line_error(result, url)


def test_the_broker_password_is_never_shown(zone: Zone, remote_dir: str,
                                            source: Path, tmp_path: Path) -> None:
    url = f"redis://:s3cret-pw@127.0.0.1:{_free_port()}/0"
    env = environ_for(zone, tmp_path)
    for args in (["upload", str(source), remote_dir, "--celery", url], ["worker", "--celery", url]):
        result = _run(env, *args)
        _one_line_error(result, "***@127.0.0.1")
        assert "s3cret" not in result.stderr + result.stdout
