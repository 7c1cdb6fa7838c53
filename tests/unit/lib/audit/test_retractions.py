"""Retractions (lib/audit/retractions.py): months taken back, observed outcomes made unobservable, and the audited
acknowledgement an operator records so that the next run may publish them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from trust_assets.lib.audit import retractions as r
from trust_assets.lib.paths import TrustPaths

CEO = "claimant_employment_outcomes"


def outcomes(in_work_3m: list[float | None], reasons: list[str | None] | None = None,
             cohort: str = "2025-06") -> pd.DataFrame:
    n = len(in_work_3m)
    return pd.DataFrame({"cohort_month": [dt.date.fromisoformat(f"{cohort}-01")] * n,
                         "region": [f"R{i}" for i in range(n)], "age_band": ["25-34"] * n, "disability": ["no"] * n,
                         "cohort_claimants": [100] * n, "in_work_3m": in_work_3m, "in_work_6m": [None] * n,
                         "suppression": reasons or [None] * n})


def test_a_removed_or_shrunk_month_is_a_retraction_a_small_correction_is_not():
    found = r.source_retractions("hmrc/paye_employments", {"2025-08": 1000, "2025-09": 1000, "2025-10": 1000},
                                 {"2025-08": 995, "2025-10": 900}, 0.01, (4, 5))
    assert [(x.month, x.kind, x.before, x.after) for x in found] == [
        ("2025-09", "month_removed", 1000, 0), ("2025-10", "month_shrunk", 1000, 900)]
    assert "v4" in found[0].detail and "v5" in found[0].detail


def test_observed_outcomes_turning_unobservable_are_retractions_suppressed_ones_too():
    published = outcomes([40, None, 15], [None, "in_work_3m:threshold", None])
    candidate = outcomes([None, None, 15])
    found = r.product_retractions(CEO, candidate, published)
    assert [(x.kind, x.month, x.before, x.after) for x in found] == [("outcome_unobservable", "2025-06", 3, 1)]


def with_status(frame: pd.DataFrame, statuses: list[str]) -> pd.DataFrame:
    return frame.assign(in_work_3m_status=statuses, in_work_6m_status=["not_yet_observable"] * len(frame))


def test_the_status_columns_say_what_was_observed_and_what_is_taken_back():
    # the status column is the truth: a null suppressed cell (no reason string) was observed
    published = with_status(outcomes([40, None, None, 15]),
                            ["published", "suppressed_cross_release", "not_applicable", "published"])
    candidate = with_status(outcomes([None, None, None, None]),
                            ["not_yet_observable", "not_yet_observable", "not_yet_observable", "not_applicable"])
    found = r.product_retractions(CEO, candidate, published)
    # rows 0 and 1 were observed and become not yet observable; row 2 was never observed; row 3 turns
    # not_applicable, which takes nothing back
    assert [(x.kind, x.before, x.after) for x in found] == [("outcome_unobservable", 3, 1)]
    # an older published version without status columns is still judged by value and reason
    legacy = outcomes([40, None], [None, "in_work_3m:threshold"])
    assert [(x.before, x.after) for x in r.product_retractions(
        CEO, with_status(outcomes([None, None]), ["not_yet_observable"] * 2), legacy)] == [(2, 0)]


def test_dropped_published_rows_are_retractions_new_months_are_not():
    published = outcomes([40, 30])
    assert [x.kind for x in r.product_retractions(CEO, outcomes([40]), published)] == ["rows_removed"]
    assert r.product_retractions(CEO, outcomes([40, 30], cohort="2025-07"), published) == []


def test_acknowledgement_is_audited_honoured_once_then_consumed(tmp_path):
    paths = TrustPaths(tmp_path)
    found = r.source_retractions("hmrc/paye_employments", {"2025-09": 10}, {}, 0.01, (1, 2))

    blocking, acknowledged = r.judge(paths, "run-1", "check", found)
    assert blocking == found and not acknowledged
    assert [p["month"] for p in r.pending(paths)] == ["2025-09"]

    entry = r.acknowledge(paths, "hmrc/paye_employments", "2025-09", "HMRC withdrew September", by="ops")
    assert r.pending(paths) == [] and r.verify_acknowledgements(paths) == []
    blocking, acknowledged = r.judge(paths, "run-2", "check", found)
    assert not blocking and acknowledged[0][1]["id"] == entry["id"]
    assert "HMRC withdrew September" in r.summary(blocking, acknowledged, "months")

    assert r.mark_honoured(paths, "run-2") == [entry["id"]]
    assert r.active_acknowledgements(paths) == {}
    assert r.judge(paths, "run-3", "check", found)[0] == found  # a later retraction needs a new acknowledgement


def test_acknowledged_months_are_remembered_after_they_are_consumed(tmp_path):
    paths = TrustPaths(tmp_path).ensure()
    r.acknowledge(paths, "hmrc/paye_employments", "2025-05", "HMRC withdrew May", by="ops")
    assert r.acknowledged_months(paths, "hmrc/paye_employments") == {"2025-05"}
    assert r.acknowledged_months(paths, "dwp/uc_claims") == set()


def test_an_edited_acknowledgement_breaks_the_chain(tmp_path):
    paths = TrustPaths(tmp_path)
    r.acknowledge(paths, "hmrc/paye_employments", "2025-09", "first", by="ops")
    r.acknowledge(paths, CEO, "2025-06", "second", by="ops")
    log = r.folder(paths) / "acknowledgements.jsonl"
    log.write_text(log.read_text().replace('"by": "ops"', '"by": "someone else"', 1))
    assert r.verify_acknowledgements(paths)


def test_blocking_summary_tells_the_operator_the_command():
    found = r.source_retractions("hmrc/paye_employments", {"2025-09": 10}, {}, 0.01, (1, 2))
    text = r.summary(found, [], "hmrc/paye_employments months")
    assert "trust acknowledge hmrc/paye_employments 2025-09 --reason" in text


def test_acknowledging_a_source_month_covers_the_outcomes_that_read_it(tmp_path):
    paths = TrustPaths(tmp_path)
    found = r.product_retractions(CEO, outcomes([None]), outcomes([40]))  # cohort 2025-06: 3m reads 2025-09
    r.acknowledge(paths, "hmrc/paye_employments", "2025-09", "HMRC withdrew September", by="ops")
    blocking, acknowledged = r.judge(paths, "run-1", "check", found)
    assert not blocking and len(acknowledged) == 1
