"""The sharing server's table metadata carries what the published table says about itself (name, description,
column comments), so a Delta Sharing client shows analysts the dbt definitions."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from trust_assets.lib.publish.commit import replace_months
from trust_assets.lib.publish.describe import describe
from trust_assets.lib.registry.products import LOCAL_LABOUR_MARKET_MONTHLY as LLM
from trust_assets.sharing.protocol import metadata_line
from trust_assets.sharing.tables import Terms, snapshot


def test_metadata_returns_name_description_and_column_comments(tmp_path):
    data = pa.table({"month": pa.array([dt.date(2025, 1, 1)], pa.date32()), "local_authority_code": ["E1"],
                     "uc_claimants": pa.array([10], pa.int64()), "uc_claimants_status": ["published"]})
    described = describe(LLM.name, data.column_names)
    replace_months(str(tmp_path / LLM.name), data, product=LLM.name, month_column="month", grain=LLM.grain,
                   months=["2025-01"], run_id="r", metadata={}, description=described)
    terms = Terms("published-products", ("month", "uc_claimants", "uc_claimants_status"), ())
    meta = metadata_line(snapshot(tmp_path / LLM.name), terms, False)["metaData"]
    assert meta["name"] == LLM.name and meta["description"] == described.description
    fields = {f["name"]: f for f in json.loads(meta["schemaString"])["fields"]}
    assert set(fields) == {"month", "uc_claimants", "uc_claimants_status"}  # only what the agreement permits
    assert fields["uc_claimants"]["metadata"]["comment"] == described.columns["uc_claimants"]
    assert "not_yet_observable" in fields["uc_claimants_status"]["metadata"]["comment"]
