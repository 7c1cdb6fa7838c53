"""The dbt CLI resource the dbt step uses: dagster-dbt's, without its in-process dbt adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject


class TrustDbtCliResource(DbtCliResource):
    """``DbtCliResource`` that does not load dbt's profile, project and adapter inside the step's process.

    dagster-dbt's ``cli`` loads them before it starts dbt, only so that ``fetch_row_counts`` and
    ``fetch_column_metadata`` can query the warehouse while dbt runs. The trust uses neither (DuckDB's one writer
    forbids it; the step reads those facts once dbt exits, defs/transform/metadata.py), and the load cost ~5 s of
    every run (docs/benchmarks.md). Without it dagster-dbt's events are the same; only those two methods could not
    run, and tests/unit/defs/test_dbt_resource.py fails if dagster-dbt stops calling this hook.
    """

    def __init__(self, project_dir: str | DbtProject, **kwargs: Any) -> None:
        # DbtCliResource's own __init__ takes a DbtProject; restated so type checkers see it on the subclass too
        super().__init__(project_dir=project_dir, **kwargs)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None
