"""The evaluation report, the ``trust lineage`` / ``trust report`` commands, over fake published Delta tables
that honour the publish step's commit-metadata contract."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from deltalake import CommitProperties, DeltaTable, write_deltalake

from trust_assets.lib.evaluation.lineage.facets import PublishedOutput, SourceRead
from trust_assets.lib.evaluation.lineage.transport import LineageEmitter
from trust_assets.lib.evaluation.report.charts import chart
from trust_assets.lib.evaluation.report.data import human_duration, product_history, read_access_audit, reads_of
from trust_assets.lib.evaluation.report.html import ERROR_MARKER, build_report
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.products import PRODUCTS
from trust_assets.lib.registry.sources import SOURCE_TABLES

VERSIONS_PER_PRODUCT = 3
MODELS = ["stg_dwp__claimants", "stg_hmrc__employments", "int_people_linked", "local_labour_market_monthly"]


def build_fake_trust(root: Path, *, products: tuple[str, ...] | None = None) -> TrustPaths:
    """Department tables (two commits each), published products (three publish commits each, with the metadata
    contract), an access audit and lineage events, all under ``root``."""
    paths = TrustPaths(root).ensure()
    source_versions, source_times = {}, {}
    for table in SOURCE_TABLES:
        location = str(paths.source_table(table.dept, table.table))
        write_deltalake(location, pa.Table.from_pylist([], schema=table.schema))
        write_deltalake(location, pa.Table.from_pylist([], schema=table.schema), mode="append")
        dt = DeltaTable(location)
        source_versions[table.key] = dt.version()
        source_times[table.key] = max(int(h["timestamp"]) for h in dt.history())
    chosen = products or tuple(p.name for p in PRODUCTS)
    for p_index, name in enumerate(chosen):
        for v in range(VERSIONS_PER_PRODUCT):
            rows = 10 * (v + 1) + p_index
            data = pa.table({"month": [f"2024-{(i % 12) + 1:02d}-01" for i in range(rows)],
                             "value": list(range(rows))})
            checks = [{"name": "not_null_month", "passed": True, "severity": "error",
                       "description": "month is never null"},
                      {"name": "rows_expected", "passed": v != 1, "severity": "error",
                       "description": "row count within range <&> of last"}]
            metadata = {
                "trust.run_id": f"00000000-0000-4000-8000-00000000000{v}",
                "trust.product": name,
                "trust.months": json.dumps([f"2024-{v + 1:02d}"]),
                "trust.sources": json.dumps(source_versions),
                "trust.source_commit_times": json.dumps(source_times),
                "trust.checks": json.dumps(checks),
                "trust.suppressed": json.dumps({"value:threshold": 3 + v + p_index, "value:secondary": 2,
                                                "value:cross_release": v}),
                "trust.protection": json.dumps({"count_method": "keyed_rounding", "count_cells_published": rows,
                                                "count_cells_perturbed": rows - 1, "count_abs_perturbation": 2.0 * rows,
                                                "pay_cells_published": 0, "pay_cells_rounded": 0}),
                "trust.policy_version": "2026-01",
                "trust.content_hash": hashlib.sha256(str(rows).encode()).hexdigest(),
                "trust.models": json.dumps([*MODELS[:3], name]),
                "trust.bytes_read": str(1_000_000 * (v + 1)),
                "trust.source_bytes_total": str(50_000_000),
            }
            write_deltalake(str(paths.published_product(name)), data, mode="overwrite",
                            commit_properties=CommitProperties(custom_metadata=metadata))
    audit = [
        {"time": "2026-01-01T00:00:00Z", "recipient": "ons-analyst", "agreement": "dsa-ons", "share": "labour",
         "schema": "products", "table": chosen[0], "version": 2, "files": 1, "bytes": 2048, "status": "ok"},
        {"time": "2026-01-01T00:01:00Z", "recipient": "ons-analyst", "agreement": "dsa-ons", "share": "labour",
         "schema": "products", "table": chosen[0], "version": 2, "files": 2, "bytes": 4096, "status": "ok"},
        {"time": "2026-01-01T00:02:00Z", "recipient": "<script>evil</script>", "agreement": "x", "share": "labour",
         "schema": "products", "table": chosen[0], "version": 2, "files": 0, "bytes": 0, "status": "denied"},
        {"time": "2026-01-01T00:03:00Z", "recipient": "dfe-analyst", "agreement": "dsa-dfe", "share": "labour",
         "schema": "products", "table": chosen[0], "version": 0, "files": 1, "bytes": 100, "status": "ok"},
    ]
    (paths.audit / "access.jsonl").write_text("\n".join(json.dumps(r) for r in audit) + "\nnot json\n")
    emitter = LineageEmitter(paths)
    step = emitter.run_started(f"publish.{chosen[0]}", parent_run_id="00000000-0000-4000-8000-000000000002",
                               parent_job="monthly_products", inputs=[SourceRead(t.key, 1) for t in SOURCE_TABLES])
    emitter.run_completed(step, outputs=[PublishedOutput(chosen[0], VERSIONS_PER_PRODUCT - 1, row_count=30,
                                                         policy_version="2026-01",
                                                         suppressed={"value:threshold": 4})])
    failed = emitter.run_started(f"publish.{chosen[-1]}", parent_run_id="00000000-0000-4000-8000-000000000002")
    emitter.run_failed(failed, "disclosure check failed: dominance")
    return paths


@pytest.fixture(scope="module")
def fake_trust(tmp_path_factory: pytest.TempPathFactory) -> TrustPaths:
    return build_fake_trust(tmp_path_factory.mktemp("trust"))


def test_history_reads_the_metadata_contract(fake_trust: TrustPaths) -> None:
    name = PRODUCTS[0].name
    history = product_history(fake_trust, name)
    assert [v.version for v in history] == list(range(VERSIONS_PER_PRODUCT))
    first, second = history[0], history[1]
    assert first.rows == 10 and second.rows == 20  # from the Delta log's file statistics
    assert second.checks_failed == 1 and second.checks_passed == 1 and second.checks_warned == 0

    assert first.suppressed_cells == 3 + 2 and second.suppressed_cells == 4 + 2 + 1
    assert first.perturbed_cells == 9 and second.cross_release_withheld == 1
    assert set(first.sources) == {t.key for t in SOURCE_TABLES}
    newest = max(first.source_commit_times.values())
    assert first.latency_ms == first.published_ms - newest and first.latency_ms >= 0
    assert first.bytes_read == 1_000_000 and first.source_bytes_total == 50_000_000


def test_unknown_product_is_a_clear_error(fake_trust: TrustPaths) -> None:
    with pytest.raises(KeyError, match="unknown product 'nope'"):
        product_history(fake_trust, "nope")


def test_reads_by_recipient_match_product_and_version(fake_trust: TrustPaths) -> None:
    records = read_access_audit(fake_trust)
    assert len(records) == 4  # the malformed line is skipped
    reads = {r.recipient: r for r in reads_of(records, PRODUCTS[0].name, 2)}
    assert reads["ons-analyst"].reads == 2 and reads["ons-analyst"].bytes == 6144
    assert reads["<script>evil</script>"].reads == 0 and reads["<script>evil</script>"].denied == 1
    assert "dfe-analyst" not in reads  # read version 0, not 2
    assert reads_of(records, PRODUCTS[1].name, 2) == []


def test_missing_audit_means_no_reads(tmp_path: Path) -> None:
    assert read_access_audit(TrustPaths(tmp_path)) == []


def test_report_has_every_product_version_and_figure(fake_trust: TrustPaths) -> None:
    page = build_report(fake_trust)
    for p in PRODUCTS:
        for v in range(VERSIONS_PER_PRODUCT):
            assert f'data-product="{p.name}" data-version="{v}"' in page
    assert page.count("<svg") == 5  # lineage graph + four trend charts
    # the graph is dbt's manifest, not the names the commits list
    assert "Lineage graph" in page and "stg_dwp__uc_claims" in page and "int_uc_claims_conformed" in page
    assert "int_people_linked" not in page
    assert "ons-analyst: 2 queries" in page
    assert "&lt;script&gt;evil&lt;/script&gt;" in page and "<script>evil" not in page  # escaped
    assert "&lt;&amp;&gt;" in page  # check descriptions are escaped too
    assert "disclosure check failed: dominance" in page  # FAIL event surfaced
    # cells protected by each rule, the cross-release rule and keyed rounding's perturbed counts included
    assert "suppressed, cross_release: 1" in page and "perturbed, keyed_rounding: 19 of 20 published counts" in page
    assert "mean |Δ| 2.00" in page
    # self-contained: no external resources of any kind
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page
    assert page.count("<script") == 1 and ERROR_MARKER in page  # only the error hook


def test_chart_scales_points_inside_the_plot() -> None:
    svg = chart("t", {"a": [(1, 0.0), (2, 50.0), (3, 100.0)]}, width=400, height=200)
    ys = [float(y) for y in re.findall(r'cy="([\d.]+)"', svg)]
    assert len(ys) == 3 and ys[0] > ys[1] > ys[2]  # larger values drawn higher
    assert all(44 <= y <= 200 - 42 for y in ys)
    assert "no data yet" in chart("empty", {})


def test_human_duration() -> None:
    assert human_duration(1500) == "1.5 s"
    assert human_duration(90 * 60_000) == "90 min"
    assert human_duration(None) == "–"


def test_lineage_command_prints_sources_checks_and_readers(fake_trust: TrustPaths,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from trust_assets.cli.lineage import lineage

    monkeypatch.setenv("TRUST_HOME", str(fake_trust.root))
    name = PRODUCTS[0].name
    result = CliRunner().invoke(lineage, [name, "--version", "2"])
    assert result.exit_code == 0, result.output
    assert f"{name} v2" in result.output
    assert "dwp/uc_claims" in result.output and "v1" in result.output
    assert "int_people_linked" in result.output
    assert "2 passed, 0 warned, 0 failed" in result.output
    assert "value:threshold" in result.output
    assert "ons-analyst: 2 read(s)" in result.output and "dfe-analyst" not in result.output

    latest = CliRunner().invoke(lineage, [name, "--json"])
    assert json.loads(latest.output)["version"] == VERSIONS_PER_PRODUCT - 1

    older = CliRunner().invoke(lineage, [name, "-v", "1"])
    assert "1 passed, 0 warned, 1 failed" in older.output and "ons-analyst" not in older.output


def test_lineage_command_errors(fake_trust: TrustPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trust_assets.cli.lineage import lineage

    monkeypatch.setenv("TRUST_HOME", str(fake_trust.root))
    unknown = CliRunner().invoke(lineage, ["nope"])
    assert unknown.exit_code == 2 and "unknown product 'nope'" in unknown.output
    missing = CliRunner().invoke(lineage, [PRODUCTS[0].name, "--version", "99"])
    assert missing.exit_code == 1 and "no published version 99; published: 0, 1, 2" in missing.output
    monkeypatch.setenv("TRUST_HOME", str(tmp_path))
    unpublished = CliRunner().invoke(lineage, [PRODUCTS[0].name])
    assert unpublished.exit_code == 1 and "no published versions yet" in unpublished.output


def test_lineage_describes_only_versions_of_complete_releases(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A version no release manifest row names (a release killed before its manifest) is not described."""
    from trust_assets.cli.lineage import lineage
    from trust_assets.lib.publish.releases import ReleaseContext, record_release

    fake_trust = build_fake_trust(tmp_path)
    monkeypatch.setenv("TRUST_HOME", str(fake_trust.root))
    name = PRODUCTS[0].name
    record_release(ReleaseContext(paths=fake_trust, run_id="complete-run", months=("2025-01",),
                                  products=dict.fromkeys((p.name for p in PRODUCTS), 1), pins={},
                                  log=lambda _: None))
    latest = CliRunner().invoke(lineage, [name, "--json"])
    assert latest.exit_code == 0 and json.loads(latest.output)["version"] == 1, latest.output
    interrupted = CliRunner().invoke(lineage, [name, "--version", str(VERSIONS_PER_PRODUCT - 1)])
    assert interrupted.exit_code == 1 and "published: 1 (versions of complete releases)" in interrupted.output


def test_report_command_writes_report_and_catalogue(fake_trust: TrustPaths, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from trust_assets.cli.report import report

    monkeypatch.setenv("TRUST_HOME", str(fake_trust.root))
    result = CliRunner().invoke(report, ["--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "evaluation.html").read_text()
    assert PRODUCTS[-1].name in page
    catalog = json.loads((tmp_path / "out" / "catalog.jsonld").read_text())
    assert len(catalog["dataset"]) == len(SOURCE_TABLES) + len(PRODUCTS)
    assert "lacks" not in result.output  # every table exists, so nothing is missing


def test_warning_checks_are_not_counted_as_failures(fake_trust: TrustPaths) -> None:
    import dataclasses

    version = product_history(fake_trust, PRODUCTS[0].name)[1]
    warned = dataclasses.replace(version, checks=[*version.checks, {"name": "rows_excluded", "passed": False,
                                                                    "severity": "WARN"}])
    assert warned.checks_warned == 1 and warned.checks_failed == version.checks_failed


def test_failed_runs_and_blocked_releases_are_listed_with_their_cause(tmp_path: Path) -> None:
    from trust_assets.lib.evaluation.lineage.stages import AUDIT_JOB, PIN_JOB, stage

    paths = TrustPaths(tmp_path)
    emitter = LineageEmitter(paths)
    with stage(emitter, AUDIT_JOB, "11111111-2222-4333-8444-555555555555", "monthly_products") as step:
        step.block("publication blocked by failed checks: sector_region_monthly:expectations: 3 rows")
    with pytest.raises(RuntimeError), stage(emitter, PIN_JOB, "21111111-2222-4333-8444-555555555555",
                                            "monthly_products"):
        raise RuntimeError("cannot read dwp/uc_claims in place")
    page = build_report(paths)
    assert "2 runs did not publish: 1 releases blocked by a failing check, 1 failed with an error" in page
    assert "sector_region_monthly:expectations: 3 rows" in page and "release blocked" in page
    assert "RuntimeError: cannot read dwp/uc_claims in place" in page


def test_bytes_received_come_from_what_the_server_sent(tmp_path: Path) -> None:
    from trust_assets.lib.evaluation.report.activity import bytes_by_day, recipient_totals

    audit = [
        {"time": "2026-01-05T10:00:00Z", "recipient": "analyst", "table": "sector_region_monthly", "version": 3,
         "status": 200, "bytes_sent": 900},                                  # the query: a small JSON answer
        {"time": "2026-01-05T10:00:01Z", "recipient": "analyst", "table": "sector_region_monthly",
         "file": "ab.parquet", "status": 200, "bytes_sent": 1_048_576},       # the download
        {"time": "2026-01-07T09:00:00Z", "recipient": "analyst", "file": "cd.parquet", "status": 206,
         "bytes_sent": 1_048_576},
        {"time": "2026-01-07T09:00:00Z", "recipient": "analyst", "status": 403, "bytes_sent": 120},
    ]
    [totals] = recipient_totals(audit)
    assert (totals.requests, totals.denied, totals.files) == (4, 1, 2)
    assert totals.bytes_sent == 900 + 2 * 1_048_576
    assert totals.tables == {"sector_region_monthly": 1_048_576, "unattributed": 1_048_576}
    days = bytes_by_day(audit)["analyst"]
    assert [d for d, _ in days] == [0, 2] and round(days[1][1], 3) == 1.0


def test_latency_counts_new_source_data_only_and_old_versions_are_summarised(tmp_path: Path) -> None:
    from trust_assets.lib.evaluation.report.activity import new_source_versions
    from trust_assets.lib.evaluation.report.data import ProductVersion
    from trust_assets.lib.evaluation.report.html import VERSION_ROWS, _product_section

    name = PRODUCTS[0].name
    versions = [ProductVersion(name, v, 1_000_000 + v, months=("2025-01", "2025-02", "2025-03", "2025-05"),
                               sources={"dwp/uc_claims": v // 2}, source_commit_times={"dwp/uc_claims": 1000})
                for v in range(VERSION_ROWS + 8)]
    fresh, again = new_source_versions(versions)
    assert [v.version for v in fresh] == list(range(0, VERSION_ROWS + 8, 2))  # every other one republishes
    assert len(again) == (VERSION_ROWS + 8) // 2
    html = _product_section(name, versions, [])
    assert html.count("<tr data-product") == VERSION_ROWS and "8 older versions (v0–v7" in html
    assert "2025-01..2025-03, 2025-05" in html and "republication" in html


def test_the_report_stays_small_as_versions_grow(tmp_path: Path) -> None:
    from trust_assets.lib.evaluation.report.data import ProductVersion
    from trust_assets.lib.evaluation.report.html import _product_section

    def size(n: int) -> int:
        versions = [ProductVersion(PRODUCTS[0].name, v, v, months=(f"2025-{1 + v % 12:02d}",),
                                   sources={"dwp/uc_claims": v}) for v in range(n)]
        return len(_product_section(PRODUCTS[0].name, versions, []))

    assert size(200) < 1.1 * size(20)
