"""Guards the asset graph: every asset spec, check, job and sensor against a committed snapshot.

A change to the graph (a new dbt model, a renamed check, a check that stops blocking) must be a deliberate,
reviewed diff of ``snapshots/definitions.json``, not a side effect. Regenerate it with
``UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/unit/defs/test_definitions_snapshot.py`` and review the diff.

Also guards the code location's cost: importing it is cheap (no dbt, no manifest), and building it never touches
``$TRUST_HOME`` (the UI loads definitions before any data exists, and one code location serves any root).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"
UPDATE_HINT = "UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/unit/defs/test_definitions_snapshot.py"
#: Modules a code-location import must not pull in: they cost seconds and belong to run time.
HEAVY_MODULES = ("dbt", "dagster_dbt", "duckdb", "deltalake", "great_expectations", "pyarrow", "pandas")


def _partitions(partitions_def: dg.PartitionsDefinition | None) -> dict[str, str] | None:
    if partitions_def is None:
        return None
    return {"type": type(partitions_def).__name__, "name": str(partitions_def)}


def _code_references(metadata: dict[str, Any]) -> list[str]:
    """Files the UI links an asset to, relative to the checkout (line numbers move too often to snapshot)."""
    from trust_assets.lib.paths import PROJECT_ROOT

    refs = metadata.get("dagster/code_references")
    files = {Path(r.file_path).resolve().relative_to(PROJECT_ROOT).as_posix() for r in (refs.code_references if refs
                                                                                        else [])}
    return sorted(files)


def definitions_snapshot(defs: dg.Definitions) -> dict[str, Any]:
    """A stable, JSON-ready description of what the code location defines (no paths, no SQL, no timestamps)."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        checks = sorted(
            ({"name": ck.name, "blocking": graph.get_check_spec(ck).blocking} for ck in node.check_keys),
            key=lambda c: c["name"],
        )
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "execution": "observable" if node.is_observable else "materializable" if node.is_materializable
            else "external",
            "partitions": _partitions(node.partitions_def),
            "checks": checks,
            "code": _code_references(node.metadata),
        }
    jobs = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):  # Dagster's implicit asset job
            continue
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys),
            "executor": job.executor_def.name,
            "partitions": _partitions(job.partitions_def),
        }
    repository = defs.get_repository_def()
    sensors = {
        sensor.name: {
            "job": sensor.job_name if sensor.targets else None,  # a run-status sensor starts no job
            "minimum_interval_seconds": sensor.minimum_interval_seconds,
            "default_status": sensor.default_status.value,
        }
        for sensor in sorted(repository.sensor_defs, key=lambda s: s.name)
    }
    schedules = {
        schedule.name: {"job": schedule.job_name, "cron": schedule.cron_schedule,
                        "default_status": schedule.default_status.value}
        for schedule in sorted(repository.schedule_defs, key=lambda s: s.name)
    }
    return {"assets": assets, "jobs": jobs, "sensors": sensors, "schedules": schedules}


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    from trust_assets.definitions import defs

    return definitions_snapshot(defs())


def test_definitions_match_the_committed_snapshot(snapshot):
    rendered = json.dumps(snapshot, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(rendered)
    if not SNAPSHOT.exists():
        pytest.fail(f"no definitions snapshot at {SNAPSHOT}; create it with: {UPDATE_HINT}")
    committed = SNAPSHOT.read_text()
    if rendered != committed:
        diff = "".join(difflib.unified_diff(committed.splitlines(keepends=True), rendered.splitlines(keepends=True),
                                            fromfile="committed snapshot", tofile="current definitions", n=2))
        pytest.fail(f"the Dagster definitions changed. If that is intended, update the snapshot with\n  {UPDATE_HINT}\n"
                    f"and review the diff:\n{diff}", pytrace=False)


def test_snapshot_has_the_trust_stages_and_their_blocking_checks(snapshot):
    """The snapshot is only worth guarding if it really covers the stages; this fails if the walk misses them."""
    assets = snapshot["assets"]
    for dept_table in ("dwp/uc_claims", "hmrc/paye_employments", "dfe/fe_learner_aims", "beis/business_register"):
        assert assets[dept_table]["execution"] == "observable"
        assert "trust/pinned_sources" not in assets[dept_table]["deps"]
        assert dept_table in assets["trust/pinned_sources"]["deps"]
    pinned_checks = {c["name"]: c["blocking"] for c in assets["trust/pinned_sources"]["checks"]}
    assert pinned_checks and all(pinned_checks.values())
    for product in ("local_labour_market_monthly", "sector_region_monthly", "claimant_employment_outcomes",
                    "skills_employment_outcomes"):
        checks = {c["name"]: c["blocking"] for c in assets[f"candidates/{product}"]["checks"]}
        assert checks == {"expectations": True, "disclosure_compliance": True, "differencing": True,
                          "plausibility": True, "retractions": True}
        assert assets[f"published/{product}"]["deps"] == [f"candidates/{product}"]
        assert assets[f"candidates/{product}"]["deps"] == [f"warehouse/{product}"]
        assert assets[f"published/{product}"]["partitions"] == {"type": "DynamicPartitionsDefinition",
                                                             "name": 'Dynamic partitions: "months"'}
    assert snapshot["sensors"]["new_source_versions"]["job"] == "monthly_products"
    assert snapshot["jobs"]["monthly_products"]["executor"] == "in_process"


def _run_python(code: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter (sys.modules starts clean) and return the JSON it prints last."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_code_location_loads_no_dbt_and_reads_no_manifest():
    out = _run_python("""
        import json, sys
        opened = []
        sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
        import trust_assets.definitions
        print(json.dumps({"modules": sorted(sys.modules), "opened": opened}))
    """, env=dict(os.environ))
    loaded = {m.split(".")[0] for m in out["modules"]}
    assert "dagster" in loaded  # the probe works: the import did happen in that interpreter
    assert not loaded & set(HEAVY_MODULES), f"importing trust_assets.definitions loaded {loaded & set(HEAVY_MODULES)}"
    assert not [p for p in out["opened"] if p.endswith("manifest.json")]


def test_building_definitions_never_reads_trust_home(tmp_path):
    home = tmp_path / "never-created"
    out = _run_python("""
        import json, os, sys
        sites, touched = {}, []

        class RecordingEnviron(type(os.environ)):
            def __getitem__(self, key):
                frame = sys._getframe(1)
                while frame.f_code.co_filename.startswith("<frozen"):  # Mapping.get, `in`
                    frame = frame.f_back
                sites.setdefault((frame.f_code.co_filename, frame.f_lineno), set()).add(key)
                return super().__getitem__(key)

        def reads():
            # A lookup by name; a line that copies or iterates the whole environment (dbt, platform and networkx
            # do) reads every variable without looking for any.
            return sorted({key for keys in sites.values() if len(keys) <= 3 for key in keys})

        os.environ.__class__ = RecordingEnviron
        sys.addaudithook(lambda event, args: touched.append(str(args[0]))
                         if event in ("open", "os.mkdir", "os.listdir", "os.scandir") else None)

        from trust_assets.definitions import defs
        d = defs()
        d.resolve_asset_graph()
        d.get_repository_def().get_all_jobs()
        before = reads()
        from trust_assets.lib.paths import TrustPaths
        TrustPaths.from_env()  # control: a real read of TRUST_HOME is seen
        print(json.dumps({"reads_while_loading": before, "reads_after": reads(), "touched": touched}))
    """, env={**os.environ, "TRUST_HOME": str(home)})
    assert "TRUST_HOME" in out["reads_after"], "the environment probe missed a read it should see"
    assert "TRUST_HOME" not in out["reads_while_loading"]
    assert not [p for p in out["touched"] if p.startswith(str(home))]
    assert not home.exists()
