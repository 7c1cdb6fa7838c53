"""``trust run`` as a person at a terminal sees it: a line per stage and a summary, no dbt flood, no colour codes
when the output is not a terminal, and a failure said once, cause first, without a traceback."""

from __future__ import annotations

import pyarrow as pa
import pytest
from _corpus import rewrite_source
from click.testing import CliRunner

from trust_assets.cli import main

#: One tiny month through the whole job; on a shared, loaded machine that can take longer than the default limit.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


def test_quiet_run_shows_stages_and_a_summary_and_keeps_dbt_in_the_log(tiny_home, tiny_months):
    result = CliRunner().invoke(main, ["run", "--months", tiny_months[0]])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b[" not in out, "colour codes in redirected output"
    assert "Warning" not in out and "Traceback" not in out
    lines = out.splitlines()
    assert len(lines) < 25, out
    for stage in ("pin sources done", "dbt build done", "audit done", "publish done"):
        assert any(stage in line for line in lines), (stage, out)
    assert "checks passed" in out
    assert any("published local_labour_market_monthly v0 (361 rows)" in line for line in lines), out
    logs = sorted(tiny_home.run_logs.glob("*.log"))
    assert len(logs) == 1 and "dbt" in logs[0].read_text()  # what -v would have shown is kept


def _drop_regime(data: pa.Table) -> pa.Table:
    return data.drop_columns(["conditionality_regime"])


def test_failed_run_says_its_cause_once_without_a_traceback(tiny_home, tiny_months):
    rewrite_source(tiny_home.root, "dwp/uc_claims", _drop_regime)
    result = CliRunner().invoke(main, ["run", "--months", tiny_months[1]])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "Traceback" not in out and "\x1b[" not in out
    assert "conditionality_regime" in out
    assert out.count("dwp__uc_claims__schema failed") == 1, out
    assert "Dagster's and dbt's output:" in out
    assert out.strip().splitlines()[-1].startswith("Error: 1 of 1 run(s) failed")
