"""The dbt step's CLI resource skips dagster-dbt's pre-start work, and dagster-dbt still goes through those hooks."""

from __future__ import annotations

import inspect
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from dagster_dbt import DbtCliResource

from trust_assets.defs.transform.resource import TrustDbtCliResource


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: probe\nprofile: probe\n", encoding="utf-8")
    return tmp_path


def test_dagster_dbt_still_goes_through_the_overridden_hooks() -> None:
    # If a dagster-dbt upgrade renames either hook, the override would silently stop saving the time: fail instead.
    source = inspect.getsource(DbtCliResource.cli)
    assert "self._initialize_dbt_core_adapter(" in source
    assert "self._cli_version" in source


def test_the_trust_resource_loads_no_profile(monkeypatch, project: Path) -> None:
    import dbt.config.runtime

    def refuse(*_args, **_kwargs):
        raise AssertionError("the adapter hook loaded dbt's profile")

    monkeypatch.setattr(dbt.config.runtime, "load_profile", refuse)
    beside = str(Path(sys.executable).parent / "dbt")  # the venv's dbt, as the definitions name it (not on PATH in CI)
    trust = TrustDbtCliResource(project_dir=str(project), dbt_executable=beside)
    assert trust._initialize_dbt_core_adapter(["build"]) is None
    # dagster-dbt's own hook does load the profile, so the patch above is what the override avoids
    with pytest.raises(AssertionError, match="loaded dbt's profile"):
        DbtCliResource(project_dir=str(project), dbt_executable=beside)._initialize_dbt_core_adapter(["build"])


def test_the_venvs_dbt_version_comes_from_its_package_without_a_subprocess(monkeypatch, project: Path) -> None:
    import dagster_dbt.core.resource as resource

    beside = str(Path(sys.executable).parent / "dbt")
    calls: list[object] = []
    monkeypatch.setattr(resource, "check_output", lambda *a, **k: calls.append(a) or b"dbt 0.0.1")
    assert str(TrustDbtCliResource(project_dir=str(project), dbt_executable=beside)._cli_version) == version("dbt-core")
    assert calls == []


def test_another_dbt_executable_is_still_asked(monkeypatch, project: Path, tmp_path_factory) -> None:
    import dagster_dbt.core.resource as resource

    elsewhere = tmp_path_factory.mktemp("elsewhere") / "dbt"
    elsewhere.write_text("#!/bin/sh\n", encoding="utf-8")
    elsewhere.chmod(0o755)
    monkeypatch.setattr(resource, "check_output", lambda *a, **k: b"dbt-fusion 2.0.0-preview.1")
    other = TrustDbtCliResource(project_dir=str(project), dbt_executable=str(elsewhere))
    assert other._cli_version.major == 2
