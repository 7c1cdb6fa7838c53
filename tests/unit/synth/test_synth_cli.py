"""``trust synth`` from the command line: options are checked, existing data is protected, the output guides."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from trust_assets.cli import main
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import SOURCE_TABLES
from trust_assets.synth.writer import SynthOptionError, generate


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    return TrustPaths(tmp_path)


def run(*args: str):
    return CliRunner().invoke(main, ["synth", *args])


@pytest.mark.parametrize(("args", "option", "words"), [
    (["--start", "2025-1"], "--start", "YYYY-MM"),
    (["--start", "January"], "--start", "YYYY-MM"),
    (["--start", "2025-13"], "--start", "01-12"),
    (["--start", "2010-01"], "--start", "before 2014-01"),
    (["--months", "0"], "--months", "0"),
    (["--months", "many"], "--months", "many"),
    (["--scale", "huge"], "--scale", "huge"),
    (["--seed", "-1"], "--seed", "-1"),
])
def test_invalid_options_are_rejected_with_a_clear_message(home, args, option, words):
    result = run("--scale", "tiny", *args) if "--scale" not in args else run(*args)
    assert result.exit_code == 2, result.output
    assert option in result.output and words in result.output
    assert not Path(home.departments).exists()


def test_api_rejects_the_same_options(home):
    with pytest.raises(SynthOptionError, match="months") as caught:
        generate(home, scale="tiny", months=0)
    assert caught.value.option == "months"
    with pytest.raises(SynthOptionError, match="unknown scale"):
        generate(home, scale="huge")


def test_generates_reports_and_refuses_to_overwrite_without_force(home):
    first = run("--scale", "tiny", "--months", "2", "--seed", "3")
    assert first.exit_code == 0, first.output
    for table in SOURCE_TABLES:
        path = home.source_table(table.dept, table.table)
        assert DeltaTable(str(path)).version() == 1
        assert table.key in first.output and str(path) in first.output
    assert "2025-02" in first.output and "rows" in first.output  # one progress line per month and table
    assert "duckdb" in first.output  # how to look at the data

    again = run("--scale", "tiny", "--months", "1")
    assert again.exit_code == 1
    assert "already exist" in again.output and "--force" in again.output
    assert DeltaTable(str(home.source_table("dwp", "uc_claims"))).version() == 1

    forced = run("--scale", "tiny", "--months", "1", "--force")
    assert forced.exit_code == 0, forced.output
    assert DeltaTable(str(home.source_table("dwp", "uc_claims"))).version() == 0


def test_no_mess_turns_off_the_correction(home):
    result = run("--scale", "tiny", "--months", "3", "--no-mess")
    assert result.exit_code == 0, result.output
    assert "correction" not in result.output
    assert DeltaTable(str(home.source_table("hmrc", "paye_employments"))).version() == 2
