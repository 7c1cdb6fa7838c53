"""Agreements as code: the shipped files load, and bad files fail naming the file and the field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from trust_assets.lib.paths import AGREEMENTS_DIR, TrustPaths
from trust_assets.sharing.agreements import AgreementError, load_agreements
from trust_assets.sharing.rules import RowRule, RuleError, hint_keeps_file, rows_expression

GOOD = """\
id: {id}
provider: HMRC
recipient: trust
share: {share}
purpose: building the labour market products
lawful_basis: DEA 2017
start_date: 2025-01-01
end_date: {end}
retention: P0D
status: {status}
disclosure_policy: aggregates_after_disclosure_control
tables:
  - schema: default
    name: paye_employments
    source: {{department_table: hmrc/paye_employments}}
    columns: {columns}
    rows: {rows}
"""


def write(folder: Path, id: str = "dsa-a", share: str = "hmrc", end: str = "2027-01-01", status: str = "active",
          columns: str = "[person_id, month]", rows: str = "['month >= 2025-02']") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{id}.yaml"
    path.write_text(GOOD.format(id=id, share=share, end=end, status=status, columns=columns, rows=rows))
    return path


def test_shipped_agreements_cover_every_department_and_the_products(tmp_path: Path) -> None:
    agreements = load_agreements(AGREEMENTS_DIR, TrustPaths(tmp_path))
    trust_shares = {a.share for a in agreements.for_recipient("trust")}
    assert trust_shares == {"dwp", "hmrc", "dfe", "beis"}
    products = agreements.find("analyst-example", "products")
    assert products is not None and len(products.tables) == 4
    # sources resolve under the TrustPaths given, never the environment
    hmrc = agreements.find("trust", "hmrc")
    assert agreements.source_path(hmrc.tables[0]) == str(tmp_path / "departments" / "hmrc" / "paye_employments")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"columns": "[person_id, shoe_size]"}, "tables[0]"),
        ({"rows": "['month ~ 3']"}, "tables[0].rows"),
        ({"rows": "['month >= last-tuesday']"}, "tables[0]"),
        ({"end": "2024-01-01"}, "(top level)"),
        ({"status": "paused"}, "status"),
    ],
)
def test_bad_agreement_names_file_and_field(tmp_path: Path, change: dict, field: str) -> None:
    path = write(tmp_path / "agreements", **change)
    with pytest.raises(AgreementError) as info:
        load_agreements(tmp_path / "agreements", TrustPaths(tmp_path))
    message = str(info.value)
    assert str(path) in message and field in message


def test_one_share_per_recipient(tmp_path: Path) -> None:
    write(tmp_path / "agreements", id="dsa-a")
    write(tmp_path / "agreements", id="dsa-b")
    with pytest.raises(AgreementError, match="already receives share 'hmrc'"):
        load_agreements(tmp_path / "agreements", TrustPaths(tmp_path))


def test_id_must_match_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "agreements", id="dsa-a")
    path.rename(path.with_name("other.yaml"))
    with pytest.raises(AgreementError, match="must match the file name"):
        load_agreements(tmp_path / "agreements", TrustPaths(tmp_path))


def test_refusal_names_the_agreement(tmp_path: Path) -> None:
    write(tmp_path / "agreements", id="dsa-old", end="2025-06-30")
    write(tmp_path / "agreements", id="dsa-off", share="hmrc2", status="withdrawn")
    agreements = load_agreements(tmp_path / "agreements", TrustPaths(tmp_path))
    assert agreements.by_id("dsa-old").refusal(dt.date(2025, 7, 1)) == "agreement dsa-old expired on 2025-06-30"
    assert agreements.by_id("dsa-old").refusal(dt.date(2025, 6, 30)) is None
    assert "dsa-off has been withdrawn" in agreements.by_id("dsa-off").refusal(dt.date(2025, 7, 1))


def test_row_rules_filter_rows_and_months_mean_first_day() -> None:
    table = pa.table({"month": pa.array([dt.date(2025, m, 1) for m in (1, 2, 3)], pa.date32()),
                      "region": ["E1", "E2", None]})
    rules = (RowRule.parse("month >= 2025-02"), RowRule.parse("region in [E1, 'E2']"))
    kept = table.filter(rows_expression(rules, table.schema))
    assert kept.column("month").to_pylist() == [dt.date(2025, 2, 1)]
    not_in = table.filter(rows_expression((RowRule.parse("region not in [E1]"),), table.schema))
    assert not_in.column("region").to_pylist() == ["E2"]  # a null is never provably allowed
    with pytest.raises(RuleError, match="not in the table"):
        rows_expression((RowRule.parse("age > 3"),), table.schema)


def test_json_hints_prune_on_partitions_and_ignore_what_they_cannot_judge() -> None:
    hint = {"op": "and", "children": [
        {"op": "greaterThanOrEqual", "children": [{"op": "column", "name": "month", "valueType": "date"},
                                                  {"op": "literal", "value": "2025-02-01", "valueType": "date"}]},
        {"op": "equal", "children": [{"op": "column", "name": "pay", "valueType": "double"},
                                     {"op": "literal", "value": "3", "valueType": "double"}]}]}
    assert hint_keeps_file(hint, {"month": "2025-03-01"}) is True
    assert hint_keeps_file(hint, {"month": "2025-01-01"}) is False
    assert hint_keeps_file({"op": "bogus"}, {"month": "2025-01-01"}) is True
    assert hint_keeps_file({"op": "equal", "children": "garbage"}, {"month": "x"}) is True


def test_a_broken_file_blocks_its_shares_and_never_falls_back(tmp_path: Path) -> None:
    from trust_assets.sharing.agreements import scan_agreements

    folder = tmp_path / "agreements"
    path = write(folder, id="dsa-a", share="hmrc")
    write(folder, id="dsa-b", share="hmrc2")
    before = scan_agreements(folder, TrustPaths(tmp_path))
    assert before.find("trust", "hmrc") is not None and not before.problems
    # broken schema and a withdrawal in the same edit: the withdrawal is still read
    path.write_text(path.read_text().replace("status: active", "status: 'withdrawn'").replace("P0D", "never"))
    after = scan_agreements(folder, TrustPaths(tmp_path), previous=before)
    assert after.find("trust", "hmrc") is None and after.by_id("dsa-a") is None
    blocked = after.blocked("trust", "hmrc")
    assert blocked is not None and blocked.withdrawn and "retention" in blocked.error
    assert after.find("trust", "hmrc2") is not None and after.unusable is None
    # the file now names another share: the share it used to grant stays blocked as well
    path.write_text("recipient: trust\nshare: elsewhere\n: : :")
    moved = scan_agreements(folder, TrustPaths(tmp_path), previous=after)
    assert moved.blocked("trust", "hmrc") and moved.blocked("trust", "elsewhere")
    assert not moved.blocked("trust", "hmrc").withdrawn
    # a new file that says nothing about whose it is: every share is suspended
    (folder / "stray.yaml").write_text("[1, 2")
    stray = scan_agreements(folder, TrustPaths(tmp_path), previous=moved)
    assert stray.unusable and "stray.yaml" in stray.unusable
    # two valid files for one (recipient, share): that share is blocked, not resolved by guesswork
    (folder / "stray.yaml").unlink()
    write(folder, id="dsa-a", share="hmrc")
    write(folder, id="dsa-c", share="hmrc")
    clash = scan_agreements(folder, TrustPaths(tmp_path), previous=stray)
    assert clash.find("trust", "hmrc") is None and "several agreements" in clash.blocked("trust", "hmrc").error
