"""All of mango-ingest's interface: its flags (and long forms), ``MANGO_*`` variables, the
``MANGO_INGEST_CONFIG`` file, the helper subcommands, ``--filter-func`` and
``--metadata-handler``. Runs go through the embedded server over TCP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from irods.session import iRODSSession

from mango_transfer.cli.main import main
from mango_transfer.server import EmbeddedServer
from tests.conftest import write_file

UNITS = "analysis/mango_ingest"

# mango-ingest's own example config (doc/examples/mango_ingest_config.yaml), as it writes it
MANGO_INGEST_CONFIG = """\
destination: /zone/home/project/mango_ingest
do_dry_run: false
filter_func: null
filter_func_kwargs: null
glob:
- '*.py'
- '*.json'
ignore: []
ignore_glob: []
metadata_handler: null
metadata_handler_kwargs: null
metadata_mtime: false
metadata_path: []
no_watch: false
observer: native
path: .
recursive: false
regex: []
restart: null
sync: false
verbose: 1
verify_checksum: false
"""


def ingest(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["ingest", *args], env=env)


def shown(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    assert isinstance(data, dict)
    return data


def test_command_line_beats_variable_beats_config_file(tmp_path: Path) -> None:
    config = tmp_path / "station.yaml"
    config.write_text("destination: /zone/home/lab/raw\nglob: ['*.csv']\nrecursive: true\n"
                      "polling_interval: 7\nobserver: polling\nmetadata_path: 'sub-(?P<s>\\d+)'\n",
                      encoding="utf-8")
    env = {"MANGO_INGEST_CONFIG": str(config), "MANGO_GLOB": "*.edf *.tsv",
           "MANGO_POLLING_INTERVAL": "8"}
    options = shown(ingest("--polling-interval", "9", "show", env=env))
    assert options["destination"] == "/zone/home/lab/raw"  # the file
    assert options["recursive"] is True and options["observer"] == "polling"
    assert options["glob"] == ["*.edf", "*.tsv"]  # the variable over the file
    assert options["polling_interval"] == 9.0  # the flag over both
    assert options["metadata_path"] == ["sub-(?P<s>\\d+)"]  # one string for a list
    assert options["settle"] == 3.0  # a default


def test_every_option_has_its_mango_variable(tmp_path: Path) -> None:
    env = {"MANGO_DESTINATION": "/zone/home/x", "MANGO_PATH": str(tmp_path),
           "MANGO_RECURSIVE": "1", "MANGO_NO_WATCH": "true", "MANGO_DO_DRY_RUN": "1",
           "MANGO_METADATA_MTIME": "1", "MANGO_METADATA_PATH": "a(?P<x>b)",
           "MANGO_VERBOSE": "2", "MANGO_IGNORE_GLOB": "*.tmp *.bak", "MANGO_MAX_OUTAGE": "2h",
           "MANGO_FILTER_FUNC_KWARGS": '{"a": 1}', "MANGO_THREADS": "3"}
    options = shown(ingest("show", env=env))
    assert (options["destination"], options["path"], options["recursive"],
            options["no_watch"], options["do_dry_run"], options["metadata_mtime"],
            options["verbose"], options["threads"], options["max_outage"]) == (
        "/zone/home/x", str(tmp_path), True, True, True, True, 2, 3, "2h")
    assert options["ignore_glob"] == ["*.tmp", "*.bak"]
    assert options["metadata_path"] == ["a(?P<x>b)"]
    help_text = ingest("--help").output
    for name in ("MANGO_DESTINATION", "MANGO_OBSERVER", "MANGO_POLLING_INTERVAL",
                 "MANGO_FILTER_FUNC", "MANGO_METADATA_HANDLER_KWARGS", "MANGO_DO_DRY_RUN",
                 "MANGO_SETTLE", "MANGO_RESCAN_INTERVAL", "MANGO_MAX_OUTAGE", "MANGO_LOG_DIR"):
        assert name in help_text, name


def test_mango_ingests_own_config_file_is_read_unchanged(tmp_path: Path) -> None:
    config = tmp_path / "mango_ingest_config.yaml"
    config.write_text(MANGO_INGEST_CONFIG, encoding="utf-8")
    options = shown(ingest("show", env={"MANGO_INGEST_CONFIG": str(config)}))
    assert options["destination"] == "/zone/home/project/mango_ingest"
    assert options["glob"] == ["*.py", "*.json"] and options["verbose"] == 1


def test_generate_config_writes_what_show_reads_back(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    args = ["-d", "/zone/home/lab/in", "-r", "--glob", "*.csv", "--md-path", "s-(?P<s>\\d)",
            "--md-mtime", "--observer", "polling"]
    result = ingest(*args, "generate-config", "-o", str(target))
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert written == yaml.safe_load(result.output)  # printed too, as mango-ingest does
    assert written["metadata_path"] == ["s-(?P<s>\\d)"] and written["metadata_mtime"] is True
    assert shown(ingest("show", env={"MANGO_INGEST_CONFIG": str(target)})) == written
    again = ingest(*args, "generate-config", "-o", str(target))
    assert again.exit_code == 2 and "exists; not overwritten" in again.output
    assert ingest("generate-config", "-o", str(target), "--force").exit_code == 0


@pytest.mark.parametrize(("content", "needle"), [
    pytest.param("destinaton: /x\n", "unknown option 'destinaton'", id="typo"),
    pytest.param("recursive: maybe\n", "'recursive' must be true or false", id="wrong-type"),
    pytest.param("glob: [1, 2]\n", "'glob' must be a list of texts", id="list-of-numbers"),
    pytest.param("a: [unclosed\n", "not valid YAML at line", id="bad-yaml"),
    pytest.param("- just\n- a list\n", "must hold option: value lines", id="not-a-mapping"),
    pytest.param(None, "cannot read it", id="missing-file"),
])
def test_a_bad_config_file_is_one_line(tmp_path: Path, content: str | None,
                                       needle: str) -> None:
    config = tmp_path / "bad.yaml"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    result = ingest("-d", "/x", "-nw", env={"MANGO_INGEST_CONFIG": str(config)})
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(config) in lines[0], result.output


def test_check_regex_shows_the_groups_and_answers_with_its_exit_code() -> None:
    bids = r"sub-(?P<subject>[^/]+)/ses-(?P<session>[^/]+)/"
    result = ingest("check-regex", "--regex", bids, "sub-01/ses-02/eeg/run.edf")
    assert result.exit_code == 0
    assert "subject = '01'  → AVU mg.subject" in result.output
    assert "session = '02'" in result.output
    assert ingest("check-regex", "--regex", bids, "notes.txt").exit_code == 1
    assert ingest("check-regex", "--glob", "sub-*/**/*.edf", "sub-01/ses-02/eeg/r.edf"
                  ).exit_code == 0
    assert ingest("check-regex", "--glob", "/*.edf", "sub-01/r.edf").exit_code == 1
    bad = ingest("check-regex", "--regex", "(", "x")
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1


def test_clean_keeps_the_newest_result_file_unless_all(tmp_path: Path) -> None:
    names = [f"mango_ingest_results-2024-10-0{i}T000000+0000.json" for i in (1, 2, 3)]
    for age, name in enumerate(names):
        (tmp_path / name).write_text("{}")
        os.utime(tmp_path / name, (1_700_000_000 + age, 1_700_000_000 + age))
    (tmp_path / "notes.json").write_text("{}")
    result = ingest("clean", "--path", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [names[2], "notes.json"]
    assert ingest("clean", "-a", "--path", str(tmp_path)).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["notes.json"]


def test_subcommands_and_examples_are_listed() -> None:
    result = ingest("--help")
    for name in ("generate-config", "show", "check-regex", "clean", "examples"):
        assert name in result.output
    assert "mango-transfer ingest" in ingest("examples").output


PLUGINS = '''\
import pathlib


def larger_than(path: pathlib.Path, min_size: int = 0) -> bool:
    assert path.is_absolute()
    return path.stat().st_size > min_size


def describe(path: str, instrument: str = "?") -> dict:
    if path.endswith("broken.bin"):
        raise ValueError("cannot read the header")
    return {"instrument": instrument, "tags": ["raw", "eeg"], "channels": 64,
            "subject": "from-handler", "empty": ""}
'''


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of the user's, importable from the folder the ingest starts in."""
    name = f"lab_plugins_{os.getpid()}_{time.monotonic_ns()}"
    (tmp_path / f"{name}.py").write_text(PLUGINS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return name


def _avus(session: iRODSSession, path: str) -> list[tuple[str, str, str]]:
    return sorted((m.name, m.value, m.units or "") for m in
                  session.data_objects.get(path).metadata.items())


def test_filter_func_and_metadata_handler_with_their_kwargs(
    tmp_path: Path, plugins: str, irods_env: EmbeddedServer, remote_dir: str,
    session: iRODSSession, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    src = tmp_path / "acq"
    write_file(src / "sub-07" / "big.bin", b"x" * 500)
    write_file(src / "sub-07" / "small.bin", b"x" * 10)
    write_file(src / "sub-07" / "broken.bin", b"x" * 600)
    result = ingest("-d", remote_dir, "-p", str(src), "-nw", "-r", "-v",
                    "--filter-func", f"{plugins}.larger_than",
                    "--filter-func-kwargs", '{"min_size": 100}',
                    "--md-handler", f"{plugins}.describe",
                    "--md-handler-kwargs", '{"instrument": "biosemi"}',
                    "--metadata-path", r"sub-(?P<subject>\d+)/",
                    "--log-dir", str(tmp_path / "logs"))
    assert result.exit_code == 1, result.output  # broken.bin's handler failed
    assert "uploaded: sub-07/big.bin" in result.output
    assert f"--metadata-handler {plugins}.describe raised ValueError: cannot read the header" \
        in result.output
    [log_file] = (tmp_path / "logs").glob("*.json")
    files = {e["path"]: e for e in json.loads(log_file.read_text())["files"]}
    assert files["sub-07/small.bin"]["status"] == "filtered"
    assert "--filter-func" in files["sub-07/small.bin"]["error"]
    assert files["sub-07/broken.bin"]["status"] == "failed"
    assert _avus(session, f"{remote_dir}/sub-07/big.bin") == [
        ("mg.channels", "64", UNITS), ("mg.instrument", "biosemi", UNITS),
        ("mg.subject", "07", UNITS),  # --metadata-path wins over the handler
        ("mg.tags", "eeg", UNITS), ("mg.tags", "raw", UNITS)]


@pytest.mark.parametrize(("args", "needle"), [
    pytest.param(["--filter-func", "no_such_module_xyz.f"], "cannot import no_such_module_xyz",
                 id="missing-module"),
    pytest.param(["--filter-func", "PLUGINS.nope"], "has no function nope", id="no-function"),
    pytest.param(["--filter-func", "justaname"], "must name a function as module.function",
                 id="no-module"),
    pytest.param(["--filter-func", "PLUGINS.larger_than", "--filter-func-kwargs", "[1]"],
                 "must be a JSON object", id="kwargs-not-an-object"),
    pytest.param(["--md-handler-kwargs", "{bad"], "is not valid JSON", id="bad-json"),
    pytest.param(["--filter-func-kwargs", "{}"], None, id="empty-kwargs-alone-are-fine"),
    pytest.param(["--metadata-handler-kwargs", '{"a": 1}'],
                 "--metadata-handler-kwargs is given without --metadata-handler",
                 id="kwargs-without-function"),
    pytest.param(["--max-outage", "soon"], "invalid duration 'soon'", id="bad-duration"),
])
def test_bad_plugin_and_outage_flags_are_one_line(tmp_path: Path, plugins: str,
                                                  args: list[str], needle: str | None) -> None:
    args = [a.replace("PLUGINS", plugins) for a in args]
    result = ingest("-d", "/tempZone/home/rods/x", "-p", str(tmp_path), "--dry-run", *args,
                    env={"IRODS_ENVIRONMENT_FILE": str(tmp_path / "none.json")})
    lines = result.output.strip().splitlines()
    if needle is None:  # gets as far as the environment file
        assert "none.json" in result.output
        return
    assert result.exit_code == 2 and len(lines) == 1 and needle in lines[0], result.output


def test_verbosity_counts(tmp_path: Path, irods_env: EmbeddedServer, remote_dir: str,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    src = tmp_path / "v"
    write_file(src / "a.csv", b"a")
    write_file(src / "b.tmp", b"b")
    base = ["-d", remote_dir, "-p", str(src), "-nw", "--ignore-glob", "*.tmp",
            "--log-dir", str(tmp_path / "logs")]
    quiet = ingest(*base)
    [summary] = quiet.output.strip().splitlines()  # -nw without -v: the summary only
    assert summary.startswith("ingest: 1 uploaded, 0 skipped, 0 failed, 1 filtered")
    assert "unchanged: a.csv" in ingest(*base, "-v").output
    very = ingest(*base, "-vv")
    assert "filtered: b.tmp (matches --ignore-glob '*.tmp')" in very.output, very.output


def test_polling_observer_uploads_what_appears(tmp_path: Path, irods_env: EmbeddedServer,
                                              remote_dir: str, session: iRODSSession) -> None:
    src = tmp_path / "share"
    src.mkdir()
    out = tmp_path / "out.txt"
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1",
           "MANGO_DESTINATION": remote_dir, "MANGO_PATH": str(src),
           "MANGO_OBSERVER": "polling", "MANGO_POLLING_INTERVAL": "0.3",
           "MANGO_RESCAN_INTERVAL": "0", "MANGO_SETTLE": "0.5",
           "MANGO_LOG_DIR": str(tmp_path / "logs")}
    with open(out, "w") as handle:
        process = subprocess.Popen([sys.executable, "-m", "mango_transfer", "ingest"], env=env,
                                   stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "watching" not in out.read_text():
            assert time.monotonic() < deadline and process.poll() is None, out.read_text()
            time.sleep(0.1)
        write_file(src / "polled.bin", b"seen by polling")
        target = f"{remote_dir}/polled.bin"
        while not session.data_objects.exists(target):
            assert time.monotonic() < deadline + 30, out.read_text()
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0, out.read_text()
    assert "uploaded: polled.bin" in out.read_text()


def test_help_states_the_glob_dialect() -> None:
    text = " ".join(ingest("--help").output.split())
    assert "** crosses levels" in text and "{a,b}" in text
