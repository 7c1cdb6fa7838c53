"""Publishing an audited release: only candidates this run audited, with the provenance analysts trace."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from _tables import claims
from deltalake import DeltaTable, write_deltalake

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.publish.commit import replace_months
from trust_assets.lib.publish.ledger import empty_ledger, ledger_version, write_candidate_entries
from trust_assets.lib.publish.release import publication_metadata, publish_release, read_bytes, source_reads
from trust_assets.lib.registry.products import LOCAL_LABOUR_MARKET_MONTHLY, PRODUCTS, Product
from trust_assets.lib.registry.sources import UC_CLAIMS
from trust_assets.lib.sources.delta_pins import pin


@pytest.fixture
def pins(tmp_path):
    uri = str(tmp_path / "uc_claims")
    for month in (1, 2, 3, 4, 5, 6, 7):
        write_deltalake(uri, claims(dt.date(2025, month, 1)), mode="append")
    return {"dwp/uc_claims": pin(UC_CLAIMS, uri)}


def test_bytes_read_cover_the_built_months_and_their_follow_ups(pins):
    pinned = pins["dwp/uc_claims"]
    one_file = pinned.size_bytes // len(pinned.files)
    read, total = read_bytes(pins, ["2025-01"])
    # January plus the six months an outcome cohort follows up: every file but none beyond
    assert total == pinned.size_bytes and read == pinned.bytes_overlapping("2025-01", "2025-07")
    assert read_bytes(pins, ["2025-06"])[0] <= 2 * one_file + 16


def test_publication_metadata_carries_versions_checks_and_policy(pins):
    checks = [{"name": "candidates/x:expectations", "passed": True, "severity": "ERROR", "description": ""}]
    meta = publication_metadata(LOCAL_LABOUR_MARKET_MONTHLY, pins, ["2025-02"], checks, {"uc_claimants:threshold": 3},
                                "2026.1")
    assert meta["trust.sources"] == {"dwp/uc_claims": 6}
    assert meta["trust.source_commit_times"]["dwp/uc_claims"] == pins["dwp/uc_claims"].commit_time_ms
    assert meta["trust.checks"] == checks and meta["trust.suppressed"] == {"uc_claimants:threshold": 3}
    assert meta["trust.policy_version"] == "2026.1"
    assert int(meta["trust.bytes_read"]) <= int(meta["trust.source_bytes_total"])


def test_source_reads_name_each_pinned_version(pins):
    (read,) = source_reads(pins, ["2025-01"])
    assert read.key == "dwp/uc_claims" and read.version == 6 and read.files_read == 7


#: what the audit records of the cells each protection touched (lib/audit/disclosure/perturbation.py)
PROTECTION = {"count_method": "keyed_rounding", "count_cells_published": 2, "count_cells_perturbed": 1,
              "count_abs_perturbation": 3.0}


def write_candidate(paths: TrustPaths, product: Product, run_id: str, suppression: list[str | None]) -> None:
    """A candidate with one row per ``suppression`` cell in January 2025 (the grain's other columns made unique)."""
    n = len(suppression)
    columns: dict[str, pa.Array] = {product.month_column: pa.array([dt.date(2025, 1, 1)] * n, pa.date32())}
    columns.update({c: pa.array([f"{c}-{i}" for i in range(n)]) for c in product.grain[1:]})
    columns["suppression"] = pa.array(suppression, pa.string())
    replace_months(str(paths.candidate(product.name)), pa.table(columns), product=product.name,
                   month_column=product.month_column, grain=product.grain, months=["2025-01"], run_id=run_id,
                   metadata={"trust.policy_version": "2026.1", "trust.protection": PROTECTION})
    write_candidate_entries(paths, empty_ledger(), run_id, ledger_version(str(paths.disclosure_ledger)))


def test_publish_release_commits_each_audited_candidate_once_with_its_suppressions(tmp_path, pins):
    paths = TrustPaths(tmp_path / "home").ensure()
    for product in PRODUCTS:
        write_candidate(paths, product, "this-run", ["a:threshold;b:secondary", None, "a:threshold"])
    checks = {PRODUCTS[0].name: [{"name": "x", "passed": True, "severity": "ERROR", "description": ""}]}
    results = publish_release(paths, ["2025-01"], "this-run", pins, checks, log=lambda _: None)
    assert set(results) == {p.name for p in PRODUCTS}
    assert all(r.committed and r.version == 0 and r.rows == 3 for r in results.values())
    entry = DeltaTable(str(paths.published_product(PRODUCTS[0].name))).history(limit=1)[0]
    assert json.loads(entry["trust.suppressed"]) == {"a:threshold": 2, "b:secondary": 1}
    assert json.loads(entry["trust.protection"]) == PROTECTION  # the audit's counts reach the published commit
    assert json.loads(entry["trust.checks"]) == checks[PRODUCTS[0].name]
    assert entry["trust.policy_version"] == "2026.1" and entry["trust.run_id"] == "this-run"
    assert json.loads(entry["trust.sources"]) == {"dwp/uc_claims": 6}
    assert ("suppression", "string") in results[PRODUCTS[0].name].columns
    retried = publish_release(paths, ["2025-01"], "this-run", pins, checks, log=lambda _: None)
    assert not any(r.committed for r in retried.values())
    assert DeltaTable(str(paths.published_product(PRODUCTS[0].name))).version() == 0


def test_a_candidate_another_run_wrote_is_never_published(tmp_path, pins):
    paths = TrustPaths(tmp_path / "home").ensure()
    product = PRODUCTS[0]
    write_candidate(paths, product, "other-run", [None])
    with pytest.raises(RuntimeError, match="last written by run other-run, not this run this-run"):
        publish_release(paths, ["2025-01"], "this-run", pins, log=lambda _: None)
    assert not DeltaTable.is_deltatable(str(paths.published_product(product.name)))
    assert json.loads(DeltaTable(str(paths.candidate(product.name))).history(limit=1)[0]["trust.months"]) == [
        "2025-01"]
