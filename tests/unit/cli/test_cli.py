"""The `trust` command: every subcommand loads and explains itself; bad input is named."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from trust_assets.cli import COMMANDS, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_has_help(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: main " + name in result.output or f"Usage: trust {name}" in result.output


def test_run_names_bad_months_and_pins(trust_home):
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.synth.writer import generate

    generate(TrustPaths.from_env(), seed=3, scale="tiny", months=2, start="2025-01")
    bad_month = CliRunner().invoke(main, ["run", "--months", "2025-13"])
    assert bad_month.exit_code == 2 and "not a month: '2025-13'" in bad_month.output
    missing = CliRunner().invoke(main, ["run", "--months", "2024-01..2024-02"])
    assert missing.exit_code == 2 and "no source data for 2024-01, 2024-02" in missing.output
    bad_pin = CliRunner().invoke(main, ["run", "--months", "2025-01", "--pin", "hmrc/paye_employments"])
    assert bad_pin.exit_code == 2 and "is not DEPT/TABLE=VERSION" in bad_pin.output


def test_run_without_sources_says_what_to_do(trust_home):
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2 and "trust synth" in result.output
    assert one_line_error(result.output)


def one_line_error(output: str) -> bool:
    """A user error is one line naming the problem: no usage block, no traceback."""
    lines = [line for line in output.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in output


def test_pins_and_reproduce_targets_are_checked_before_any_run(trust_home):
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.synth.writer import generate

    paths = TrustPaths.from_env()
    generate(paths, seed=3, scale="tiny", months=2, start="2025-01")
    cases = {
        ("--pin", "nope/x=1"): "unknown source table 'nope/x'; known: dwp/uc_claims",
        ("--pin", "hmrc/paye_employments=99"): "hmrc/paye_employments has no version 99 (versions 0..",
        ("--pin", "hmrc/paye_employments"): "is not DEPT/TABLE=VERSION",
        ("--reproduce", "foo@1"): "unknown product 'foo'; known: local_labour_market_monthly",
        ("--reproduce", "local_labour_market_monthly@x"): "is not PRODUCT@VERSION",
        ("--reproduce", "local_labour_market_monthly@1"): "has never been published",
    }
    for args, words in cases.items():
        result = CliRunner().invoke(main, ["run", "--months", "2025-01", *args])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and one_line_error(result.output), (args, result.output)
    assert not (paths.dagster_home / "storage").exists()  # nothing was run


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("trust 0.")


def test_run_names_a_bad_engine_setting(trust_home, monkeypatch):
    monkeypatch.delenv("TRUST_SPARK_REMOTE", raising=False)
    no_remote = CliRunner().invoke(main, ["run", "--engine", "spark"])
    assert no_remote.exit_code == 2 and "needs a Spark Connect URL sc://HOST:PORT" in no_remote.output
    bad_remote = CliRunner().invoke(main, ["run", "--engine", "spark", "--spark-remote", "localhost:15002"])
    assert bad_remote.exit_code == 2 and "'localhost:15002' is not a Spark Connect URL" in bad_remote.output
    unknown = CliRunner().invoke(main, ["run", "--engine", "presto"])
    assert unknown.exit_code == 2 and "'presto' is not one of 'duckdb', 'spark'" in unknown.output


@pytest.mark.parametrize("command", [["run"], ["bench", "--scale", "tiny", "--no-docs"]])
def test_a_bad_memory_setting_is_refused_before_anything_runs(trust_home, monkeypatch, command):
    monkeypatch.setenv("TRUST_MEMORY_LIMIT", "6 gigs")
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "Error: TRUST_MEMORY_LIMIT='6 gigs' is not a size: write a number and a unit, e.g. 6GiB or 6144MiB "
        "(units: b, kb, mb, gb, tb, kib, mib, gib, tib, any case)"]


def test_a_bad_scratch_setting_is_refused_before_anything_runs(trust_home, monkeypatch):
    monkeypatch.setenv("TRUST_SCRATCH", "disk")
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "Error: TRUST_SCRATCH='disk' is not a scratch location: write memory (the default) or file"]
