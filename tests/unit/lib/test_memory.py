"""TRUST_MEMORY_LIMIT: parsed in one place, refused clearly when bad, and turned into DuckDB's settings."""

from __future__ import annotations

import pytest

from trust_assets.lib.memory import (
    MEMORY_ENV,
    SCRATCH_ENV,
    SPILL_ENV,
    MemoryLimitError,
    explain_memory_error,
    export_duckdb_settings,
    memory_budget,
    parse_size,
    scratch_kind,
)
from trust_assets.lib.paths import TrustPaths


@pytest.mark.parametrize(("text", "size"), [
    ("6GiB", 6 << 30), ("6gib", 6 << 30), (" 6 GiB ", 6 << 30), ("6144MiB", 6 << 30), ("6GB", 6 * 10**9),
    ("1.5GiB", 3 << 29), ("512KiB", 512 << 10), ("2TB", 2 * 10**12),
])
def test_sizes_are_read_with_their_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["6", "six GiB", "6 GiBs", "-6GiB", "6GiB extra", "", "GiB", "6 G1B"])
def test_a_size_without_a_known_unit_is_refused_naming_the_variable(text):
    with pytest.raises(MemoryLimitError, match=rf"^{MEMORY_ENV}=.* is not a size: .*6GiB"):
        parse_size(text)


def test_the_budget_is_none_when_unset_and_derived_when_set():
    assert memory_budget({}) is None and memory_budget({MEMORY_ENV: "  "}) is None
    budget = memory_budget({MEMORY_ENV: "6GiB"})
    assert budget is not None and (budget.limit, budget.spill) == (6 << 30, 12 << 30)
    assert budget.duckdb_limit < budget.limit  # headroom for the interpreters DuckDB does not count
    explicit = memory_budget({MEMORY_ENV: "6GiB", SPILL_ENV: "20GiB"})
    assert explicit is not None and explicit.spill == 20 << 30


def test_a_limit_too_small_to_run_or_a_bad_spill_cap_is_refused():
    with pytest.raises(MemoryLimitError, match="below the 1GiB"):
        memory_budget({MEMORY_ENV: "512MiB"})
    with pytest.raises(MemoryLimitError, match=rf"^{SPILL_ENV}='lots'"):
        memory_budget({MEMORY_ENV: "6GiB", SPILL_ENV: "lots"})


def test_the_settings_dbt_reads_follow_the_budget_and_spill_under_trust_home(tmp_path):
    paths = TrustPaths(tmp_path)
    env = {MEMORY_ENV: "6GiB"}
    budget = export_duckdb_settings(paths, env)
    assert budget is not None
    assert env["TRUST_DUCKDB_MEMORY_LIMIT"] == f"{int((6 << 30) * 0.7) >> 20}MiB"
    assert env["TRUST_DUCKDB_MAX_TEMP"] == "12288MiB"
    assert env["TRUST_DBT_THREADS"] == "1"
    assert env["TRUST_DUCKDB_TEMP_DIRECTORY"] == str(tmp_path / "trust" / "spill")
    assert (tmp_path / "trust" / "spill").is_dir()
    unset: dict[str, str] = {}
    assert export_duckdb_settings(paths, unset) is None
    # the profile's defaults apply, spilling under TRUST_HOME, the scratch in memory
    assert unset == {"TRUST_DUCKDB_TEMP_DIRECTORY": str(tmp_path / "trust" / "spill"),
                     "TRUST_DUCKDB_SCRATCH": ":memory:"}


def test_the_scratch_is_in_memory_unless_a_file_is_asked_for_and_a_typo_is_refused(tmp_path):
    paths = TrustPaths(tmp_path)
    as_file = {SCRATCH_ENV: " File "}
    export_duckdb_settings(paths, as_file)
    assert as_file["TRUST_DUCKDB_SCRATCH"] == str(tmp_path / "trust" / "scratch" / "run_scratch.duckdb")
    assert (tmp_path / "trust" / "scratch").is_dir()
    assert scratch_kind({}) == scratch_kind({SCRATCH_ENV: ""}) == "memory"
    with pytest.raises(MemoryLimitError, match=r"TRUST_SCRATCH='disk' is not a scratch location: write memory"):
        export_duckdb_settings(paths, {SCRATCH_ENV: "disk"})


def test_a_duckdb_memory_error_is_explained_with_the_setting_that_bounded_it():
    env = {MEMORY_ENV: "6GiB"}
    oom = "Out of Memory Error: failed to offload data block of size 256.0 KiB (11.9 GiB/12.0 GiB used)"
    hint = explain_memory_error(oom, env)
    assert hint is not None and "TRUST_MEMORY_LIMIT=6GiB" in hint and SPILL_ENV in hint
    unset_hint = explain_memory_error("... max_temp_directory_size ...", {})
    assert unset_hint is not None and f"set {MEMORY_ENV}" in unset_hint
    assert explain_memory_error("Binder Error: column x not found", env) is None
