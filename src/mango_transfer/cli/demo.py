"""``mango-transfer demo``: the whole loop on a throw-away zone, in well under a minute.

Starts the embedded server in a temporary folder, generates a small BIDS-like study (2 subjects
× 2 sessions: JSON sidecars, TSV tables, and two recordings of 40 and 64 MB so parallel chunks
are exercised), uploads it with ``--verify``, downloads it into another folder with ``--verify``,
compares every file's SHA-256 with the original and prints a summary table. Exit code 0 only
when every byte came back.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from pathlib import Path

import anyio
import click

from mango_transfer import engine
from mango_transfer.engine.options import MIB, TransferOptions
from mango_transfer.engine.stats import Stats
from mango_transfer.errors import MangoError
from mango_transfer.irods.environment import load_environment

__all__ = ["demo"]

_LARGE = (40 * 1000 * 1000, 64 * MIB)


def _generate(root: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    (root / "dataset_description.json").write_text(json.dumps(
        {"Name": "mango-transfer demo", "BIDSVersion": "1.9.0"}, indent=2))
    (root / "participants.tsv").write_text("participant_id\tage\nsub-01\t31\nsub-02\t27\n")
    for subject in ("sub-01", "sub-02"):
        for session in ("ses-1", "ses-2"):
            for kind in ("anat", "func", "beh", "eeg"):
                folder = root / subject / session / kind
                folder.mkdir(parents=True)
                for run in range(1, 7):
                    stem = f"{subject}_{session}_task-rest_run-{run:02d}_{kind}"
                    (folder / f"{stem}.json").write_text(json.dumps(
                        {"RepetitionTime": rng.uniform(0.5, 3), "run": run}, indent=2))
                    rows = "\n".join(f"{rng.random():.6f}\t{rng.randrange(1000)}"
                                     for _ in range(rng.randrange(5, 200)))
                    (folder / f"{stem}_events.tsv").write_text(f"onset\tvalue\n{rows}\n")
    for (subject, size) in zip(("sub-01", "sub-02"), _LARGE, strict=True):
        recording = root / subject / "ses-1" / "eeg" / f"{subject}_ses-1_task-rest_eeg.bdf"
        with open(recording, "wb") as out:
            left = size
            while left:
                block = min(left, 8 * MIB)
                out.write(rng.randbytes(block))
                left -= block


def _digests(root: Path) -> dict[str, str]:
    result: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                while block := handle.read(4 * MIB):
                    digest.update(block)
            result[path.relative_to(root).as_posix()] = digest.hexdigest()
    return result


def _row(label: str, stats: Stats) -> str:
    snap = stats.snapshot()
    return (f"{label:<10}{snap.transferred:>7}{snap.files_failed:>8}{snap.bytes / 1e6:>10.1f}"
            f"{snap.elapsed:>9.2f}{snap.rate / 1e6:>9.1f}")


@click.command()
@click.option("--keep", is_flag=True, help="Keep the temporary folder and print its path.")
def demo(keep: bool) -> None:
    """Upload a generated BIDS-like study to an embedded zone, download it, verify every byte."""
    from mango_transfer.server import EmbeddedServer

    work = Path(tempfile.mkdtemp(prefix="mango-demo-"))
    source, target = work / "study", work / "downloaded"
    source.mkdir()
    _generate(source)
    options = TransferOptions(verify=True, state_dir=str(work / "state"), chunk_threshold=32 * MIB)
    try:
        with EmbeddedServer(work / "zone") as server:
            env = load_environment(server.env_file, environ={
                "IRODS_AUTHENTICATION_FILE": os.fspath(server.auth_file)})
            collection = f"{server.home}/demo-study"
            up = anyio.run(lambda: engine.upload(source, collection, options, environment=env))
            down = anyio.run(lambda: engine.download(collection, target, options,
                                                     environment=env))
    except MangoError as exc:
        raise click.ClickException(exc.user_message()) from exc
    original, copy = _digests(source), _digests(target)
    same = original == copy
    click.echo(f"{'':<10}{'files':>7}{'failed':>8}{'MB':>10}{'seconds':>9}{'MB/s':>9}")
    click.echo(_row("upload", up))
    click.echo(_row("download", down))
    verdict = "every SHA-256 matches" if same else "MISMATCH"
    click.echo(f"verification: {len(copy)}/{len(original)} files, {verdict} "
               "(and each transfer was checked against the server's sha2 checksum)")
    if keep:
        click.echo(f"kept: {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    if not same or up.failures or down.failures:
        raise SystemExit(1)
