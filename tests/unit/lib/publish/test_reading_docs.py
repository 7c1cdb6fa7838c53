"""docs/products.md's "How to read a product" snippets run as written against a republished product table, and
the warning they give (never read the parquet files directly) is true."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pyarrow as pa
import pytest

from trust_assets.lib.paths import PROJECT_ROOT
from trust_assets.lib.publish.commit import replace_months
from trust_assets.lib.publish.describe import describe
from trust_assets.lib.registry.products import LOCAL_LABOUR_MARKET_MONTHLY as LLM

DOC = PROJECT_ROOT / "docs" / "products.md"


def snippets() -> dict[str, str]:
    text = DOC.read_text()
    return dict(re.findall(r"<!-- tested: (reading-[a-z]+) -->\n```python\n(.*?)```", text, re.S))


@pytest.fixture
def product_path(tmp_path):
    """January published twice (the second a correction), so superseded files sit in the folder."""
    path = str(tmp_path / LLM.name)
    for run, value in (("run-1", 10), ("run-2", None), ("run-3", 20)):
        data = pa.table({"month": pa.array([dt.date(2025, 1, 1)] * 2, pa.date32()),
                         "local_authority_code": ["E1", "E2"],
                         "uc_claimants": pa.array([value, 15], pa.int64()),
                         "uc_claimants_status": ["published" if value else "suppressed_threshold", "published"]})
        replace_months(path, data, product=LLM.name, month_column="month", grain=LLM.grain, months=["2025-01"],
                       run_id=run, metadata={}, description=describe(LLM.name, data.column_names))
    return path


def test_the_page_opens_with_how_to_read_and_warns_against_raw_parquet():
    text = DOC.read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[0] == "How to read a product"
    assert "Never read the parquet files in the folder directly" in text
    for reader in ("deltalake", "DuckDB", "Polars", "pandas", "Spark", "Delta Sharing", "nullable"):
        assert reader in text.split("## Common definitions")[0], reader
    assert set(snippets()) == {"reading-deltalake", "reading-pandas", "reading-duckdb", "reading-polars"}


def test_each_snippet_reads_the_current_version_only(product_path):
    found = {}
    for name, code in snippets().items():
        scope: dict = {"path": product_path}
        exec(compile(code, f"{DOC}:{name}", "exec"), scope)
        found[name] = scope
    assert found["reading-deltalake"]["frame"].num_rows == 2
    frame = found["reading-pandas"]["frame"]
    assert str(frame["uc_claimants"].dtype) == "Int64" and frame["uc_claimants"].tolist() == [20, 15]
    assert found["reading-duckdb"]["rows"] == [(dt.date(2025, 1, 1), 2)]
    polars = found["reading-polars"]
    assert polars["frame"]["uc_claimants"].dtype == polars["pl"].Int64 and polars["frame"].height == 2
    assert sorted(polars["published"]["uc_claimants"].to_list()) == [15, 20]


def test_a_raw_parquet_read_returns_superseded_rows(product_path):
    raw = duckdb.sql(f"select count(*) from read_parquet('{product_path}/**/*.parquet')").fetchall()[0][0]
    assert raw == 6  # three publications of two rows: what the page warns about
