"""Published tables describe themselves: Delta name, description and column comments from the dbt YAML."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import yaml
from deltalake import DeltaTable

from trust_assets.lib.audit.disclosure.policy import load_policy
from trust_assets.lib.publish.commit import replace_months
from trust_assets.lib.publish.describe import MARTS_YAML, apply_description, describe, read_description
from trust_assets.lib.registry.products import LOCAL_LABOUR_MARKET_MONTHLY, PRODUCTS

LLM = LOCAL_LABOUR_MARKET_MONTHLY


def test_every_published_column_of_every_product_has_a_comment():
    policy = load_policy()
    for p in PRODUCTS:
        columns = policy.product(p.name).public_columns
        described = describe(p.name, columns)
        assert described.name == p.name and p.title in described.description
        assert "parquet" in described.description  # the warning against raw file reads travels with the table
        missing = [c for c in columns if not described.columns.get(c)]
        assert missing == [], f"{p.name}: columns without a comment {missing}"
        assert "not_yet_observable" in described.columns[columns[-2]]  # the last measure's status


def test_a_product_missing_from_the_yaml_is_refused(tmp_path):
    yml = tmp_path / "marts.yml"
    yml.write_text(yaml.safe_dump({"version": 2, "models": [{"name": "other"}]}))
    with pytest.raises(KeyError, match="no model local_labour_market_monthly"):
        describe(LLM.name, ["month"], marts_yaml=yml)


def month_cells(month: dt.date, codes: list[str]) -> pa.Table:
    return pa.table({"month": pa.array([month] * len(codes), pa.date32()), "local_authority_code": codes,
                     "uc_claimants": pa.array([10] * len(codes), pa.int64())})


def publish(uri: str, data: pa.Table, month: str, run_id: str, described):
    return replace_months(uri, data, product=LLM.name, month_column="month", grain=LLM.grain, months=[month],
                          run_id=run_id, metadata={}, description=described)


def test_publish_sets_name_description_and_comments_and_keeps_them_without_extra_commits(tmp_path):
    uri = str(tmp_path / "llm")
    data = month_cells(dt.date(2025, 1, 1), ["E1", "E2"])
    described = describe(LLM.name, data.column_names)
    first = publish(uri, data, "2025-01", "run-1", described)
    assert first.version == 0
    seen = read_description(uri)
    assert seen == described
    assert "Universal Credit" in seen.columns["uc_claimants"]
    second = publish(uri, month_cells(dt.date(2025, 2, 1), ["E1"]), "2025-02", "run-2", described)
    assert second.version == 1  # unchanged descriptions: the data commit only
    assert read_description(uri) == described


def test_changed_yaml_reaches_an_existing_table_before_its_data_commit(tmp_path):
    uri = str(tmp_path / "llm")
    data = month_cells(dt.date(2025, 1, 1), ["E1"])
    publish(uri, data, "2025-01", "run-1", None)  # an older table, published before descriptions existed
    assert read_description(uri).columns == {}
    described = describe(LLM.name, data.column_names)
    result = publish(uri, month_cells(dt.date(2025, 2, 1), ["E1"]), "2025-02", "run-2", described)
    table = DeltaTable(uri)
    assert result.version == table.version()  # the data commit stays the latest, with its provenance
    assert table.history(limit=1)[0]["trust.run_id"] == "run-2"
    assert read_description(uri) == described
    describe_commits = [h for h in table.history() if h.get("trust.operation") == "describe"]
    assert len(describe_commits) == 2 + len(described.columns)
    assert apply_description(uri, described) == 0


def test_the_yaml_is_the_source_of_the_comments():
    models = {m["name"]: m for m in yaml.safe_load(MARTS_YAML.read_text())["models"]}
    yaml_text = next(c["description"] for c in models[LLM.name]["columns"] if c["name"] == "uc_claimants")
    assert describe(LLM.name, ["uc_claimants"]).columns["uc_claimants"] == " ".join(yaml_text.split())
