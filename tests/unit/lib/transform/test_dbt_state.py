"""The last run's dbt parse is handed to the next run's target folder, whole and private, and only when the
project's files are the ones it parsed (dbt's partial re-parse of changed files is never asked for)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trust_assets.lib.transform.dbt_state import (
    FINGERPRINT,
    PARTIAL_PARSE,
    latest_partial_parse,
    project_fingerprint,
    reuse_partial_parse,
)


def _parse(folder: Path, content: bytes, mtime: float, fingerprint: str = "same") -> Path:
    folder.mkdir(parents=True)
    (folder / FINGERPRINT).write_text(fingerprint + "\n")
    path = folder / PARTIAL_PARSE
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))
    return path


def test_the_newest_earlier_parse_of_the_same_files_is_copied_in(tmp_path):
    runs = tmp_path / "dbt_runs"
    _parse(runs / "old", b"old", 1_000)
    newest = _parse(runs / "new", b"new", 2_000)
    _parse(runs / "newer-but-other-files", b"other", 3_000, fingerprint="edited")
    (runs / "no-parse").mkdir()
    target = runs / "this-run"
    assert reuse_partial_parse(runs, target, "same") == newest
    copied = target / PARTIAL_PARSE
    assert copied.read_bytes() == b"new"
    assert stat.S_IMODE(copied.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.iterdir()) == sorted([PARTIAL_PARSE, FINGERPRINT])  # no .part left
    assert (target / FINGERPRINT).read_text().strip() == "same"  # the next run can reuse this one's


def test_no_reuse_after_an_edit_without_a_fingerprint_or_from_its_own_folder(tmp_path):
    runs = tmp_path / "dbt_runs"
    assert reuse_partial_parse(runs, runs / "first", "same") is None  # no earlier run
    _parse(runs / "edited", b"x", 1_000, fingerprint="before-the-edit")
    assert reuse_partial_parse(runs, runs / "second", "same") is None
    (runs / "unmarked").mkdir()
    (runs / "unmarked" / PARTIAL_PARSE).write_bytes(b"y")  # e.g. a run of an older trust: no fingerprint
    assert latest_partial_parse(runs, "same") is None
    assert latest_partial_parse(runs, "same", exclude=runs / "first") is None
    own = runs / "first"
    (own / PARTIAL_PARSE).write_bytes(b"mine")
    assert latest_partial_parse(runs, "same", exclude=own) is None


def test_the_fingerprint_follows_the_project_files_not_dbts_output(tmp_path):
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1")
    (project / "dbt_project.yml").write_text("name: x")
    before = project_fingerprint(project)
    (project / "target").mkdir()
    (project / "target" / PARTIAL_PARSE).write_bytes(b"output")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("log")
    assert project_fingerprint(project) == before
    (project / "models" / "a.sql").write_text("select 2")
    assert project_fingerprint(project) != before
    (project / "models" / "a.sql").write_text("select 1")
    (project / "models" / "b.sql").write_text("")
    assert project_fingerprint(project) != before
