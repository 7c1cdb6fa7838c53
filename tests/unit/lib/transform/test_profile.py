"""dbt's profile: the DuckDB settings TRUST_MEMORY_LIMIT derives reach dbt's connection, and DuckDB accepts them."""

from __future__ import annotations

import duckdb
import pytest

from trust_assets.lib.memory import export_duckdb_settings
from trust_assets.lib.paths import DBT_PROJECT_DIR, TrustPaths


def _profile_settings() -> dict[str, str]:
    """The ``config_options`` of the duckdb target (given to ``duckdb.connect`` once) as dbt renders profiles.yml
    from the current environment. Not ``settings``: dbt-duckdb SETs those on every cursor, and DuckDB refuses to
    switch temp_directory once it has spilled."""
    import os

    from dbt.config.profile import read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    set_invocation_context(dict(os.environ))  # what dbt does at the start of every invocation
    raw = read_profile(str(DBT_PROJECT_DIR))
    target = ProfileRenderer({}).render_data(raw["labour_market_trust"]["outputs"]["duckdb"])
    assert "temp_directory" not in target.get("settings", {})
    return dict(target["config_options"])


def _unset(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Unset ``names`` so that monkeypatch restores them afterwards, set or not. ``delenv(raising=False)`` records
    nothing for a variable that is not set, so what export_duckdb_settings then exported (a scratch file under this
    test's home) outlived the test, and later dbt builds in the process shared that file and failed on its lock."""
    for name in names:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.mark.parametrize("limit", ["6GiB", None])
def test_the_memory_setting_reaches_dbt_and_duckdb(tmp_path, monkeypatch, limit):
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    _unset(monkeypatch, "TRUST_MEMORY_LIMIT", "TRUST_SPILL_LIMIT", "TRUST_DUCKDB_MEMORY_LIMIT",
           "TRUST_DUCKDB_MAX_TEMP", "TRUST_DUCKDB_TEMP_DIRECTORY", "TRUST_DUCKDB_SCRATCH")
    if limit:
        monkeypatch.setenv("TRUST_MEMORY_LIMIT", limit)
    import os

    export_duckdb_settings(TrustPaths(tmp_path), os.environ)  # type: ignore[arg-type]
    settings = _profile_settings()
    spill = tmp_path / "trust" / "spill"
    assert settings["temp_directory"] == str(spill)
    expected = ("4300MiB", "12288MiB") if limit else ("16GB", "40GB")
    assert (settings["memory_limit"], settings["max_temp_directory_size"]) == expected
    con = duckdb.connect(config=settings)  # what dbt-duckdb does with them: DuckDB must accept every value
    applied = con.execute("select current_setting('memory_limit'), current_setting('temp_directory'),"
                          " current_setting('max_temp_directory_size')").fetchone()
    assert applied is not None and applied[1] == str(spill)
    assert applied[0].replace(" ", "") in (("4.1GiB", "4.2GiB") if limit else ("14.9GiB",))


def test_the_scratch_database_is_a_file_under_trust_home_when_asked(tmp_path, monkeypatch):
    """run_scratch is in memory by default, a file under TRUST_HOME with TRUST_SCRATCH=file."""
    import os

    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    monkeypatch.setenv("TRUST_SCRATCH", "file")
    _unset(monkeypatch, "TRUST_DUCKDB_TEMP_DIRECTORY", "TRUST_DUCKDB_SCRATCH")
    export_duckdb_settings(TrustPaths(tmp_path), os.environ)  # type: ignore[arg-type]
    assert os.environ["TRUST_DUCKDB_SCRATCH"] == str(tmp_path / "trust" / "scratch" / "run_scratch.duckdb")
    assert (tmp_path / "trust" / "scratch").is_dir()
