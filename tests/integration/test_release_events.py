"""Ordinary events that used to publish silently (issue 10): a register whose SIC sections turn unknown, and a
department deleting an already-published month. Both must block publication with a named check; the deleted month
publishes only after an operator's audited acknowledgement, which the next run honours and then consumes."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from _corpus import delete_source_month, published_state, read_source, run, source_uri

#: Two to four pipeline runs each: ~1 minute per run on an idle machine, many on a loaded one.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]


def _unknown_sic(data: pa.Table, share: float = 0.4) -> pa.Table:
    """A share of the register's rows (by position, deterministic) get the SIC section 'Z', which does not exist."""
    hit = pc.less(pc.divide(pa.array(range(data.num_rows), pa.float64()), float(data.num_rows)), share)
    index = data.column_names.index("sic_section")
    return data.set_column(index, "sic_section", pc.if_else(hit, pa.scalar("Z"), data["sic_section"]))


def test_unknown_sic_sections_block_with_product_measure_figures_and_limit(published_home):
    from deltalake import write_deltalake

    before = published_state(published_home.root)
    uri = source_uri(published_home.root, "beis/business_register")
    register = read_source(published_home.root, "beis/business_register")
    write_deltalake(uri, _unknown_sic(register), mode="overwrite")

    result = run(["2025-01"])

    assert not result.success
    assert "candidates/sector_region_monthly:plausibility failed" in result.message
    assert "sector_region_monthly: payrolled_employees covered (published total) in 2025-01 fell from" in result.message
    assert "limit -25%/+100% (plausibility.yaml" in result.message
    # Cells the correction empties can be pinned by the earlier release and the difference alone: protect withholds
    # them and they do not block on differencing (docs/quality.md, "What the ledger cannot prevent").
    assert "differencing" not in result.message
    assert published_state(published_home.root) == before


def test_a_deleted_published_month_blocks_until_acknowledged(tiny_home, tiny_months):
    from click.testing import CliRunner

    from trust_assets.cli import main
    from trust_assets.lib.audit import retractions

    assert run(tiny_months).success
    before = published_state(tiny_home.root)
    deleted = tiny_months[4]
    delete_source_month(tiny_home.root, "hmrc/paye_employments", deleted)
    kept = [m for m in tiny_months if m != deleted]  # what `trust run` now builds: the month left the sources

    blocked = run(kept)
    assert not blocked.success
    assert "trust/pinned_sources:hmrc__paye_employments__retractions failed" in blocked.message
    assert f"hmrc/paye_employments {deleted}: " in blocked.message and "trust acknowledge" in blocked.message
    assert published_state(tiny_home.root) == before

    runner = CliRunner()
    listed = runner.invoke(main, ["acknowledge", "--list"])
    assert f"pending  hmrc/paye_employments {deleted}  month_removed" in listed.output
    ack = runner.invoke(main, ["acknowledge", "--pending", "--reason", "HMRC withdrew the month", "--by", "ops"])
    assert ack.exit_code == 0, ack.output

    honoured = run(kept)
    assert honoured.success, honoured.message
    statuses = {(r["subject"], r["status"]) for r in retractions.seen(tiny_home)}
    assert ("hmrc/paye_employments", "acknowledged") in statuses
    assert retractions.active_acknowledgements(tiny_home) == {}  # consumed by the publication that honoured it
    assert retractions.verify_acknowledgements(tiny_home) == []
