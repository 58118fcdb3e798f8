"""Scale-out end to end: real redis-server, two real Celery workers, each zone as its test user.

Every run is the CLI as a user types it; trees are compared by SHA-256 of every file, and the
JSON report of a ``--celery`` run must equal a local run's (same files, statuses, reasons,
counts and bytes; only the order and the seconds differ).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.scaleout.conftest import LEASE, Workers, environ_for
from tests.zones import Zone

pytestmark = pytest.mark.slow
FLAGS = ["--chunk-threshold", "4M", "--retry-backoff", "0.05", "--quiet"]


def _tree(root: Path, small: int = 60, large: int = 2) -> None:
    for index in range(small):
        path = root / f"sub-{index % 4:02d}" / ("eeg" if index % 2 else "anat") / f"f{index:03d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(500 + 37 * index))
    for index in range(large):
        path = root / "recordings" / f"rec{index}.edf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom((9 << 20) + index))
    (root / "derivatives" / "empty").mkdir(parents=True)


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _cli(environ: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mango_transfer", *args], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(environ: dict[str, str], *args: str, timeout: float = 180) -> tuple[int, str]:
    process = _cli(environ, *args)
    _, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


def _report(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    data.pop("header")  # the command line, paths and times differ by design
    data["summary"].pop("seconds")
    data["files"] = sorted((f["path"], f["status"], f["reason"]) for f in data["files"])
    return dict(data)


def _collections(zone: Zone, path: str) -> set[str]:
    with zone.user.session() as session:
        found = set()
        stack = [session.collections.get(path)]
        while stack:
            coll = stack.pop()
            for sub in coll.subcollections:
                found.add(sub.path[len(path) + 1:])
                stack.append(sub)
        return found


def test_mixed_tree_moves_byte_identically_and_reports_as_a_local_run(
        zone: Zone, workers: Workers, remote_dir: str, tmp_path: Path) -> None:
    _tree(tmp_path / "src")
    env = environ_for(zone, tmp_path / "state")
    celery = ["--celery", workers.url, "--batch-files", "8", "--lease", str(LEASE)]

    code, err = _run(env, "upload", str(tmp_path / "src"), f"{remote_dir}/local", *FLAGS,
                     "--json-report", str(tmp_path / "local-up.json"))
    assert code == 0, err
    code, err = _run(env, "upload", str(tmp_path / "src"), f"{remote_dir}/celery", *FLAGS, *celery,
                     "--json-report", str(tmp_path / "celery-up.json"))
    assert code == 0, err
    assert _report(tmp_path / "celery-up.json") == _report(tmp_path / "local-up.json")
    assert _collections(zone, f"{remote_dir}/celery") == _collections(
        zone, f"{remote_dir}/local")
    assert workers.batches_done("w1") > 0 and workers.batches_done("w2") > 0  # both took work

    code, err = _run(env, "download", f"{remote_dir}/celery", str(tmp_path / "back"), *FLAGS,
                     *celery, "--json-report", str(tmp_path / "celery-down.json"))
    assert code == 0, err
    code, err = _run(env, "download", f"{remote_dir}/local", str(tmp_path / "back-local"), *FLAGS,
                     "--json-report", str(tmp_path / "local-down.json"))
    assert code == 0, err
    assert _digests(tmp_path / "back") == _digests(tmp_path / "src")
    assert _report(tmp_path / "celery-down.json") == _report(tmp_path / "local-down.json")

    # Nothing changed: a second --celery sync skips everything, as a local one does.
    code, err = _run(env, "sync", str(tmp_path / "src"), f"irods:{remote_dir}/celery", *FLAGS,
                     *celery, "--json-report", str(tmp_path / "resync.json"))
    assert code == 0, err
    summary = json.loads((tmp_path / "resync.json").read_text())["summary"]
    assert (summary["transferred"], summary["skipped"], summary["bytes"]) == (0, 62, 0)


def test_filters_apply_as_in_a_local_run(
        zone: Zone, workers: Workers, remote_dir: str, tmp_path: Path) -> None:
    """--filter rules reach the coordinator's walk and the workers: the same files are
    moved, filtered (with the same reasons) and pruned as in a local run."""
    _tree(tmp_path / "src", small=24, large=1)
    env = environ_for(zone, tmp_path / "state")
    filters = ["--filter", "- recordings/", "--filter", "- /sub-03/**", "--filter", "+ *.json",
               "--filter", "- *"]
    reports = {}
    for where, extra in (("local", []), ("celery", ["--celery", workers.url, "--batch-files",
                                                    "5", "--lease", str(LEASE)])):
        code, err = _run(env, "upload", str(tmp_path / "src"), f"{remote_dir}/{where}", *FLAGS,
                         *filters, *extra, "--json-report", str(tmp_path / f"{where}.json"))
        assert code == 0, err
        reports[where] = _report(tmp_path / f"{where}.json")
    assert reports["celery"] == reports["local"]
    listed = {path for path, _, _ in reports["local"]["files"]}
    assert listed and not any(path.startswith(("recordings", "sub-03")) for path in listed)
    assert _collections(zone, f"{remote_dir}/celery") == _collections(
        zone, f"{remote_dir}/local")


@pytest.mark.embedded_only("slows every reply (delay fault) so the worker is killed mid-batch")
def test_killing_a_worker_mid_run_still_completes(
        zone: Zone, workers: Workers, remote_dir: str, tmp_path: Path) -> None:
    _tree(tmp_path / "src", small=40, large=3)
    env = environ_for(zone, tmp_path / "state")
    zone.set_faults("delay_ms=8")  # slow enough that w1 is surely mid-batch when killed
    try:
        run = _cli(env, "upload", str(tmp_path / "src"), remote_dir, *FLAGS, "--celery",
                   workers.url, "--batch-files", "5", "--lease", str(LEASE), "--json-report",
                   str(tmp_path / "up.json"))
        _wait_for(lambda: "received" in workers.log("w1"), run)
        time.sleep(0.5)
        cut_short = _task_ids(workers.log("w1"), "received") - _task_ids(workers.log("w1"),
                                                                           "succeeded")
        workers.kill("w1")
        _, err = run.communicate(timeout=180)
    finally:
        zone.set_faults("")
    assert run.returncode == 0, err
    assert cut_short, "w1 was killed between batches; nothing was redelivered"
    assert cut_short <= _task_ids(workers.log("w2"), "succeeded")  # w2 finished w1's batches
    summary = json.loads((tmp_path / "up.json").read_text())["summary"]
    # Files w1 moved before it died count as transferred: it recorded each as it finished.
    # Only those it finished in the instant of the kill (at most its batches in flight: 2 × 5)
    # may show as already there (skipped).
    assert summary["failed"] == 0 and summary["transferred"] + summary["skipped"] == 43
    assert summary["skipped"] < 10
    _assert_arrived_intact(zone, env, remote_dir, tmp_path / "src", tmp_path)


@pytest.mark.embedded_only("slows every reply (delay fault) so the coordinator is killed mid-run")
def test_a_restarted_coordinator_continues_without_sending_finished_work_again(
        zone: Zone, workers: Workers, redis_url: str, remote_dir: str,
        tmp_path: Path) -> None:
    _tree(tmp_path / "src", small=48, large=0)
    env = environ_for(zone, tmp_path / "state")
    args = ["upload", str(tmp_path / "src"), remote_dir, *FLAGS, "--celery", workers.url,
            "--batch-files", "4", "--run-id", "nightly-1", "--lease", str(LEASE)]
    client = redis.Redis.from_url(redis_url)
    zone.set_faults("delay_ms=20")
    try:
        first = _cli(env, *args)
        _wait_for(lambda: len(client.keys("mango-transfer:run:nightly-1:outcome:*")) >= 2, first)
        first.send_signal(signal.SIGKILL)  # the coordinator dies; its queued batches go on
        first.wait()
        finished_before = len(client.keys("mango-transfer:run:nightly-1:outcome:*"))
    finally:
        zone.set_faults("")
    code, err = _run(env, *args, "--json-report", str(tmp_path / "second.json"))
    assert code == 0, err
    report = json.loads((tmp_path / "second.json").read_text())
    # Outcomes of batches finished before the restart are taken over as they were (moved by the
    # first coordinator's tasks), not sent again (a repeat would report them as skipped).
    assert report["summary"]["failed"] == 0
    assert report["summary"]["transferred"] >= 4 * finished_before
    assert report["summary"]["transferred"] + report["summary"]["skipped"] == 48
    assert len(report["files"]) == 48
    assert not client.keys("mango-transfer:run:nightly-1:*")  # a completed run is forgotten
    _assert_arrived_intact(zone, env, remote_dir, tmp_path / "src", tmp_path)


def _task_ids(log: str, event: str) -> set[str]:
    """Celery's log lines ``Task NAME[ID] received`` / ``... succeeded in ...``."""
    return set(re.findall(r"Task [\w.]+\[([\w:-]+)\] " + event, log))


def _took_a_batch(log: str) -> bool:
    """A batch task was received (the start-up banner lists the task name too)."""
    return re.search(r"Task mango_transfer\.transfer_batch\[[\w:-]+\] received", log) is not None


def _wait_for(condition: Any, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the run ended first: {process.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_lost_messages_are_sent_again(zone: Zone, redis_url: str,
                                      remote_dir: str, tmp_path: Path) -> None:
    """The broker loses the queue (restarted without persistence) before any worker ran: the
    coordinator notices that nothing progresses and nobody works on its batches, and re-sends."""
    _tree(tmp_path / "src", small=12, large=0)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    env = environ_for(zone, tmp_path / "state")
    run = _cli(env, "upload", str(tmp_path / "src"), remote_dir, "--celery", redis_url,
               "--batch-files", "4", "--lease", "5", "--json-report", str(tmp_path / "up.json"))
    _wait_for(lambda: client.llen("mango-transfer") >= 3, run)
    time.sleep(0.5)  # every batch sent
    client.delete("mango-transfer")  # the queued messages are gone
    pool = Workers(redis_url, env, tmp_path)
    try:
        pool.start("w1")
        _, err = run.communicate(timeout=120)
    finally:
        pool.stop_all()
    assert run.returncode == 0, err
    assert re.search(r"none is being worked on; sending \d+ again", err), err
    summary = json.loads((tmp_path / "up.json").read_text())["summary"]
    assert (summary["transferred"], summary["failed"]) == (12, 0)


def _assert_arrived_intact(zone: Zone, env: dict[str, str], remote_dir: str,
                           src: Path, tmp_path: Path) -> None:
    """Downloaded back, the tree is byte-identical, and every replica under it is good."""
    from irods.column import Like
    from irods.models import Collection, DataObject

    code, err = _run(env, "download", remote_dir, str(tmp_path / "back"), *FLAGS)
    assert code == 0, err
    assert _digests(tmp_path / "back") == _digests(src)
    with zone.user.session() as session:
        rows = session.query(DataObject.replica_status).filter(
            Like(Collection.name, f"{remote_dir}%")).get_results()
        assert {str(row[DataObject.replica_status]) for row in rows} == {"1"}


def _parts_done_by_workers(workers: Workers) -> int:
    return sum(len(re.findall(r"transfer_part\[[\w:-]+\] succeeded in [\d.]+s: 'done'",
                              workers.log(name))) for name in ("w1", "w2"))


@pytest.mark.embedded_only("slows every reply (delay fault) so other workers join the parts")
def test_a_very_large_file_is_shared_among_workers_in_parts(
        zone: Zone, workers: Workers, remote_dir: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "rec").mkdir(parents=True)
    (src / "rec" / "huge.edf").write_bytes(os.urandom((24 << 20) + 12345))
    (src / "rec" / "side.json").write_bytes(b"{}")
    env = environ_for(zone, tmp_path / "state")
    split = ["--celery", workers.url, "--lease", str(LEASE), "--split-from", "16M",
             "--part-size", "4M"]
    zone.set_faults("delay_ms=3")  # parts take long enough for other workers to join
    try:
        code, err = _run(env, "upload", str(src), remote_dir, *FLAGS, *split, "--verify",
                         "--json-report", str(tmp_path / "up.json"))
        assert code == 0, err
        assert _parts_done_by_workers(workers) > 0  # not all done by the leader itself
        parts_up = _parts_done_by_workers(workers)
        code, err = _run(env, "download", remote_dir, str(tmp_path / "back"), *FLAGS, *split,
                         "--verify")
        assert code == 0, err
        assert _parts_done_by_workers(workers) > parts_up
    finally:
        zone.set_faults("")
    assert _digests(tmp_path / "back") == _digests(src)
    assert not list((tmp_path / "back").rglob("*.partial*"))
    report = json.loads((tmp_path / "up.json").read_text())
    assert report["summary"]["transferred"] == 2 and report["summary"]["bytes"] >= 24 << 20
    with zone.user.session() as session:
        obj = session.data_objects.get(f"{remote_dir}/rec/huge.edf")
        assert obj.replicas[0].status == "1" and obj.size == (24 << 20) + 12345


@pytest.mark.embedded_only("writes fail by fault injection")
def test_a_failed_part_fails_only_that_attempt_and_the_retry_resumes(
        zone: Zone, workers: Workers, remote_dir: str, tmp_path: Path) -> None:
    """Writes fail now and then (whoever does them: leader or part worker): a failed part
    leaves the replica unfinalized, the engine retries the file, the recorded parts resume."""
    src = tmp_path / "src"
    (src / "rec").mkdir(parents=True)
    (src / "rec" / "huge.edf").write_bytes(os.urandom(20 << 20))
    env = environ_for(zone, tmp_path / "state")
    zone.set_faults("delay_ms=2,fail=676:4:-115000,fail=676:9:-115000")
    try:
        code, err = _run(env, "upload", str(src), remote_dir, *FLAGS, "--celery", workers.url,
                         "--lease", str(LEASE), "--split-from", "16M", "--part-size", "4M",
                         "--retries", "4", "--json-report", str(tmp_path / "up.json"))
    finally:
        zone.set_faults("")
    assert code == 0, err
    assert json.loads((tmp_path / "up.json").read_text())["summary"]["transferred"] == 1
    _assert_arrived_intact(zone, env, remote_dir, src, tmp_path)


@pytest.mark.embedded_only("slows every reply (delay fault) so the worker is killed mid-part")
def test_killing_a_worker_in_the_middle_of_a_part_still_completes_the_file(
        zone: Zone, redis_url: str, remote_dir: str, tmp_path: Path) -> None:
    """w1 holds the file (one lane, so it is slow); w2 joins, takes parts and is killed in the
    middle of one. The replica that part was writing is stale, so that attempt cannot finalize;
    the engine retries, w1 takes the parts over, and the file ends complete and good."""
    src = tmp_path / "src"
    (src / "rec").mkdir(parents=True)
    (src / "rec" / "huge.edf").write_bytes(os.urandom(64 << 20))
    redis.Redis.from_url(redis_url).flushdb()
    env = environ_for(zone, tmp_path / "state")
    pool = Workers(redis_url, env, tmp_path)
    zone.set_faults("delay_ms=150")  # w1 alone would need ~3 s: w2 joins in time
    try:
        pool.start("w1")
        run = _cli(env, "upload", str(src), remote_dir, *FLAGS, "--celery", redis_url,
                   "--lease", str(LEASE), "--split-from", "16M", "--part-size", "4M",
                   "--chunk-connections", "1", "--retries", "4",
                   "--json-report", str(tmp_path / "up.json"))
        _wait_for(lambda: _took_a_batch(pool.log("w1")), run)
        pool.start("w2")

        _wait_for(lambda: ": handle open, moving" in pool.log("w2"), run)
        time.sleep(0.05)  # w2 holds a handle on the replica and is writing
        pool.kill("w2")
        _, err = run.communicate(timeout=180)
    finally:
        zone.set_faults("")
        pool.stop_all()
    assert run.returncode == 0, err
    assert "resuming the upload of" in pool.log("w1")  # the failed attempt's parts were kept
    _assert_arrived_intact(zone, env, remote_dir, src, tmp_path)


@pytest.mark.embedded_only("slows every reply (delay fault) so the worker is killed mid-file")
def test_a_large_file_a_killed_worker_left_half_done_is_resumed_by_another(
        zone: Zone, workers: Workers, remote_dir: str, tmp_path: Path) -> None:
    """The two workers share the state folder (as hosts share storage): the one that takes the
    redelivered batch continues from the ranges the killed one recorded, not from zero."""
    src = tmp_path / "src"
    (src / "rec").mkdir(parents=True)
    (src / "rec" / "big.edf").write_bytes(os.urandom(96 << 20))
    env = environ_for(zone, tmp_path / "state")
    states = tmp_path / "state" / "mango-transfer" / "uploads"

    def recorded() -> bool:
        return any(json.loads(p.read_text()).get("ranges") for p in states.glob("*.json"))

    # One connection at 150 ms a block: its first record (after 2 s) comes mid-file.
    zone.set_faults("delay_ms=150")
    try:
        run = _cli(env, "upload", str(src), remote_dir, *FLAGS, "--celery", workers.url,
                   "--lease", str(LEASE), "--chunk-connections", "1", "--retries", "4",
                   "--json-report", str(tmp_path / "up.json"))
        _wait_for(recorded, run)
        holder = next(name for name in ("w1", "w2") if _took_a_batch(workers.log(name)))
        workers.kill(holder)
        _, err = run.communicate(timeout=180)
    finally:
        zone.set_faults("")
    assert run.returncode == 0, err
    other = "w2" if holder == "w1" else "w1"
    assert "resuming the upload of" in workers.log(other), workers.log(other)
    assert json.loads((tmp_path / "up.json").read_text())["summary"]["transferred"] == 1
    _assert_arrived_intact(zone, env, remote_dir, tmp_path / "src", tmp_path)
