"""Access-log checkpoints: signed, kept in the lineage store, and contradicting an emptied or rewritten log."""

from __future__ import annotations

import json
from pathlib import Path

from trust_assets.lib.audit.access_checkpoint import (
    GENESIS,
    checkpoint_problem,
    checkpoint_release,
    log_end,
    read_checkpoints,
)
from trust_assets.lib.paths import TrustPaths


def test_release_checkpoint_records_the_log_end_signed(tmp_path: Path) -> None:
    paths = TrustPaths(tmp_path).ensure()
    assert log_end(paths.access_log) == (0, GENESIS)
    paths.access_log.write_text(json.dumps({"seq": 1, "hash": "a" * 64}) + "\n" +
                                json.dumps({"seq": 2, "hash": "b" * 64}) + "\n")
    record = checkpoint_release(paths, "run-1")
    assert (record["seq"], record["hash"], record["source"]) == (2, "b" * 64, "release:run-1")
    assert checkpoint_release(paths, "run-1") == record  # idempotent per release, as release steps must be
    assert len(paths.access_checkpoints.read_text().splitlines()) == 1
    good, problems = read_checkpoints(paths)
    assert [c.seq for c in good] == [2] and problems == []
    assert oct(paths.access_checkpoints.stat().st_mode & 0o777) == "0o600"
    assert oct((paths.secrets / "audit.key").stat().st_mode & 0o777) == "0o600"
    # a copy carried elsewhere (a release record) is checked the same way; a forged one is reported
    forged = {**record, "seq": 1}
    good, problems = read_checkpoints(paths, [record, forged])
    assert len(good) == 2 and len(problems) == 1 and "bad signature" in problems[0]


def test_checkpoint_problem_names_what_happened(tmp_path: Path) -> None:
    paths = TrustPaths(tmp_path).ensure()
    paths.access_log.write_text(json.dumps({"seq": 3, "hash": "c" * 64}) + "\n")
    checkpoint_release(paths, "r")
    good, _ = read_checkpoints(paths)
    assert checkpoint_problem(good, {3: "c" * 64}, 3) is None
    assert "ends at 1: records were removed" in checkpoint_problem(good, {}, 1)
    assert "rewritten" in checkpoint_problem(good, {3: "d" * 64}, 5)
