"""The bench's measurement helper and its report formatting."""

from __future__ import annotations

import sys
import textwrap

import pytest

from trust_assets.bench.measure import (
    RESULT_PREFIX,
    MeasureError,
    Sample,
    Summary,
    parse_result,
    run_checked,
    run_measured,
)
from trust_assets.bench.report import (
    GIB,
    Row,
    nodes_table,
    replace_section,
    results_table,
    steps_table,
    targets_lines,
)

MIB = 1 << 20

#: A parent that starts a child holding ~200 MiB for a moment: only a tree-wide measure sees the child's memory.
CHILD_HOLDS_MEMORY = textwrap.dedent(f"""
    import subprocess, sys
    child = "import time; block = bytearray(200 * {MIB}); block[::4096] = b'x' * len(block[::4096]); time.sleep(0.6)"
    subprocess.run([sys.executable, "-c", child], check=True)
    print({RESULT_PREFIX!r} + '{{"ok": true, "answer": 42}}')
""")


def test_peak_memory_counts_children_and_wall_time_covers_the_run():
    sample = run_measured([sys.executable, "-c", CHILD_HOLDS_MEMORY])
    assert sample.returncode == 0
    assert sample.peak_rss >= 200 * MIB
    assert sample.wall_s >= 0.6
    assert sample.result == {"ok": True, "answer": 42}


def test_a_failing_command_is_reported_with_its_output():
    with pytest.raises(MeasureError, match="boom"):
        run_checked([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"])


def test_parse_result_takes_the_last_result_line():
    output = f"log\n{RESULT_PREFIX}{{\"n\": 1}}\nmore log\n{RESULT_PREFIX}{{\"n\": 2}}\n"
    assert parse_result(output) == {"n": 2}
    assert parse_result("no result here") == {}


def test_summary_takes_medians_of_wall_and_memory_separately():
    samples = [Sample(10.0, 3 * GIB, 0, ""), Sample(30.0, 1 * GIB, 0, ""), Sample(20.0, 2 * GIB, 0, "")]
    summary = Summary.of(samples)
    assert summary.wall_s == 20.0
    assert summary.peak_rss == 2 * GIB
    assert summary.walls == (10.0, 30.0, 20.0)
    with pytest.raises(ValueError):
        Summary.of([])


def test_results_table_shows_ratios_to_the_floor():
    floor = Summary(10.0, 1 * GIB, 1, (10.0,))
    pipeline = Summary(25.0, 3 * GIB, 1, (25.0,))
    table = results_table([Row("pipeline", pipeline), Row("floor (DuckDB)", floor)])
    lines = table.splitlines()
    assert lines[0].startswith("| measured | wall (s) | peak memory (GiB)")
    assert "| pipeline | 25.0 | 3.00 | 2.50x | 3.00x | 25.0 |" in lines
    assert "| floor (DuckDB) | 10.0 | 1.00 | 1.00x | 1.00x | 10.0 |" in lines


def test_results_table_shows_the_ratio_to_the_shared_floor_too():
    from trust_assets.bench.report import SHARED_FLOOR_LABEL

    rows = [Row("pipeline", Summary(30.0, 3 * GIB, 1, (30.0,))), Row("floor (DuckDB)", Summary(10.0, GIB, 1, (10.0,))),
            Row(SHARED_FLOOR_LABEL, Summary(6.0, GIB, 1, (6.0,)))]
    lines = results_table(rows).splitlines()
    assert "wall / shared floor" in lines[0] and lines[1].count("|") == lines[0].count("|")
    assert "| pipeline | 30.0 | 3.00 | 3.00x | 3.00x | 5.00x | 30.0 |" in lines
    shared = targets_lines(rows[0].summary, rows[1].summary, "national", rows[2].summary)
    assert any("pipeline / shared floor: 5.00x" in line for line in shared)


def test_steps_table_accounts_for_time_outside_the_steps():
    table = steps_table([{"pinned_sources": 1.0, "dbt_models": 30.0}, {"pinned_sources": 3.0, "dbt_models": 50.0}],
                        wall_s=60.0)
    assert "| pinned_sources | 2.0 | 3% |" in table
    assert "| dbt_models | 40.0 | 67% |" in table
    assert "| 18.0 | 30% |" in table.splitlines()[-1]


def test_nodes_table_ranks_dbt_nodes_by_median_and_sums_by_kind():
    runs = [{"model.labour_market_trust.slow": 10.0, "test.labour_market_trust.t1": 1.0,
             "seed.labour_market_trust.s": 0.5},
            {"model.labour_market_trust.slow": 30.0, "test.labour_market_trust.t1": 3.0}]
    table = nodes_table(runs, top=2)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "dbt node" not in line]
    assert rows == ["| slow | model | 20.0 | 89% |", "| t1 | test | 2.0 | 9% |"]  # the seed is past the top 2
    assert "Summed node time 22.5 s: model 20.0 s (1), test 2.0 s (1), seed 0.5 s (1)." in table
    assert "no dbt run_results.json" in nodes_table([{}])


def test_targets_say_met_or_not():
    lines = targets_lines(Summary(100.0, 7 * GIB, 1, (100.0,)), Summary(40.0, GIB, 1, (40.0,)), "national")
    assert "2.50x, NOT met" in lines[0]
    assert "100.0 s, NOT met" in lines[1]
    assert "7.00 GiB, NOT met" in lines[2]
    assert "met" in targets_lines(Summary(50.0, GIB, 1, (50.0,)), Summary(40.0, GIB, 1, (40.0,)), "regional")[0]


def test_replace_section_keeps_prose_and_other_sections():
    text = "# Benchmarks\n\nprose\n\n<!-- bench:regional -->\nold\n<!-- /bench:regional -->\n\nfindings\n"
    updated = replace_section(text, "regional", "new")
    assert "old" not in updated and "new" in updated and "prose" in updated and "findings" in updated
    appended = replace_section(updated, "national", "big")
    assert appended.index("new") < appended.index("big")
    assert replace_section(appended, "national", "bigger").count("<!-- bench:national -->") == 1


def test_a_failed_run_is_reported_with_why_not_only_that_it_exited():
    from trust_assets.bench.measure import MeasureError, failure_reason

    dbt = MeasureError("python -m trust_assets.bench.worker pipeline... exited 1:\nstarting\n"
                       "step dbt_models failed: dbt build failed: \x1b[31mFAIL 1\x1b[0m int_x::rule\ncleanup")
    assert failure_reason(dbt) == "step dbt_models failed: dbt build failed: FAIL 1 int_x::rule"
    other = MeasureError("python -m trust_assets.bench.worker pipeline... exited 1:\n\nImportError: no module x\n")
    assert failure_reason(other) == ("python -m trust_assets.bench.worker pipeline... exited 1: ... "
                                     "ImportError: no module x")
    assert failure_reason(MeasureError("")) == "failed, with no output"
