"""SIGKILL the CLI at random moments of its transfers; every re-run must finish the job without
losing a byte.

The loop lives in ``mango_transfer.bench.soak`` (also ``mango-transfer bench --scenarios soak
--kills 50``); ``MANGO_KILLS`` sets its length here (10 in CI, 50 by hand).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mango_transfer.bench.soak import soak
from tests.zones import Zone

KILLS = int(os.environ.get("MANGO_KILLS", "10"))


@pytest.mark.slow
def test_sigkill_loop_upload_then_download(zone: Zone, remote_dir: str, tmp_path: Path) -> None:
    result = soak(zone.environ(), tmp_path, f"{remote_dir}/tree", KILLS)
    assert result.identical, "byte-identical after kills"
    assert result.leftovers == [], "no partial or state file left behind"
    assert result.replicas_not_good == 0, "no intermediate or stale replica"
    assert result.moved_by_final_upload == result.missing_before_final_upload, \
        "the finishing run moved only what was missing"
    # Each run is killed once the destination shows it moved part of what was left, so the
    # first runs are interrupted mid-transfer on any machine; once the tree is complete a run
    # ends before its kill point. The test means something only if both directions had kills.
    assert result.kills_upload >= 2 and result.kills_download >= 2, result
    assert result.ok
