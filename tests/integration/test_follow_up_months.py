"""Every row a run reads is checked, whichever month it was read for: the outcome cohorts' follow-up months.

The event (issue 10, item 1): HMRC overwrote its newest month with 5% null ``person_id``. The run for that month
failed ``paye_ids_not_null``, but the runs for the cohorts whose follow-up month it is (cohort + 3, + 6) screened
only their built months and published outcomes from the bad version. Here the newest month of the tiny home,
2025-08, is the +6 follow-up of the 2025-02 cohort; a run of 2025-02 alone must block.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from _corpus import month_rows, published_state, read_source, replace_source_month, run

pytestmark = pytest.mark.integration

PAYE = "hmrc/paye_employments"
COHORT, FOLLOW_UP = "2025-02", "2025-08"  # the 2025-02 cohort's 6-month outcome is observed in 2025-08


def _with_null_ids(rows: pa.Table, share: float) -> pa.Table:
    """The month as HMRC re-sent it: the same rows, ``share`` of them without a person id."""
    n = round(share * rows.num_rows)
    ids = rows["person_id"].to_pylist()
    ids[:n] = [None] * n
    return rows.set_column(rows.schema.get_field_index("person_id"), "person_id", pa.array(ids, pa.string()))


def test_a_bad_follow_up_month_blocks_the_cohort_runs_that_read_it(published_home):
    from trust_assets.lib.publish.releases import releases

    root = published_home.root
    before, released = published_state(root), releases(published_home)
    rows = month_rows(read_source(root, PAYE), FOLLOW_UP)
    replace_source_month(root, PAYE, FOLLOW_UP, _with_null_ids(rows, 0.05))

    result = run([COHORT])

    assert not result.success, "outcomes were published from the bad follow-up month"
    assert "paye_ids_not_null failed" in result.message, result.message[:3000]
    after = published_state(root)
    for name, state in before.items():
        assert after[name] == state, f"{name} changed after a blocked run"
    assert releases(published_home) == released, "a release was recorded from the bad HMRC version"


def test_a_collapsed_follow_up_month_fails_the_volume_check_of_the_cohort_run(published_home):
    root = published_home.root
    before = published_state(root)
    rows = month_rows(read_source(root, PAYE), FOLLOW_UP)
    replace_source_month(root, PAYE, FOLLOW_UP, rows.slice(0, rows.num_rows // 3))  # two thirds lost

    result = run([COHORT])

    assert not result.success
    assert "hmrc__paye_employments__volume failed" in result.message and FOLLOW_UP in result.message, (
        result.message[:3000])
    assert published_state(root) == before
