"""The dbt step's CLI resource skips dagster-dbt's in-process adapter, and dagster-dbt still calls that hook."""

from __future__ import annotations

import inspect

from dagster_dbt import DbtCliResource

from trust_assets.defs.transform.resource import TrustDbtCliResource


def test_dagster_dbt_still_loads_its_adapter_through_the_overridden_hook() -> None:
    # If a dagster-dbt upgrade renames the hook, the override would silently stop saving the load: fail instead.
    assert "self._initialize_dbt_core_adapter(" in inspect.getsource(DbtCliResource.cli)


def test_the_trust_resource_loads_no_profile(monkeypatch, tmp_path) -> None:
    import dbt.config.runtime

    def refuse(*_args, **_kwargs):
        raise AssertionError("the adapter hook loaded dbt's profile")

    monkeypatch.setattr(dbt.config.runtime, "load_profile", refuse)
    (tmp_path / "dbt_project.yml").write_text("name: probe\nprofile: probe\n", encoding="utf-8")
    resource = TrustDbtCliResource(project_dir=str(tmp_path))
    assert resource._initialize_dbt_core_adapter(["build"]) is None
    # dagster-dbt's own hook does load the profile, so the patch above is what the override avoids
    try:
        DbtCliResource(project_dir=str(tmp_path))._initialize_dbt_core_adapter(["build"])
    except AssertionError as exc:
        assert "loaded dbt's profile" in str(exc)
    else:  # pragma: no cover - dagster-dbt changed how it loads the adapter
        raise AssertionError("DbtCliResource's hook no longer loads dbt's profile: revisit TrustDbtCliResource")
