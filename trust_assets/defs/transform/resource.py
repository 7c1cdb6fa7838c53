"""The dbt CLI resource the dbt step uses: dagster-dbt's, without the work it does before dbt starts."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version


class TrustDbtCliResource(DbtCliResource):
    """``DbtCliResource`` minus two costs of every ``cli`` call that the trust does not need (~5 s a run together,
    docs/benchmarks.md "Findings (2026-12-03 evening)").

    - dagster-dbt asks the executable ``dbt --version`` (a whole dbt start-up in a subprocess, 3-4 s) to tell dbt
      Core from the Fusion engine. The trust runs the dbt-core installed beside this interpreter (pinned in
      constraints.txt), so its version is the package's; another executable is still asked.
    - It loads dbt's profile, project and adapter inside the step's process, only so that ``fetch_row_counts`` and
      ``fetch_column_metadata`` can query the warehouse while dbt runs. The trust uses neither (DuckDB's one writer
      forbids it; the step reads those facts once dbt exits, defs/transform/metadata.py). dagster-dbt's events are
      the same without it.

    tests/unit/defs/test_dbt_resource.py fails if dagster-dbt stops going through these two hooks.
    """

    def __init__(self, project_dir: str | DbtProject, **kwargs: Any) -> None:
        # DbtCliResource's own __init__ takes a DbtProject; restated so type checkers see it on the subclass too
        super().__init__(project_dir=project_dir, **kwargs)

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(package_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None
