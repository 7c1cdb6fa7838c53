"""Which engine runs the dbt project: DuckDB in process (the default) or a Spark Connect server.

One setting for every way a run starts (``trust run``, the sensor's runs, the UI, ``--reproduce``): the
environment variables ``TRUST_ENGINE`` (``duckdb`` or ``spark``) and ``TRUST_SPARK_REMOTE`` (``sc://HOST:PORT``).
The command-line options set them for the process they start; the Dagster resource reads them when a run asks,
never at import. Plain library code (no Dagster), so the CLI, the resource and the tests share one validation.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("duckdb", "spark")
ENGINE_VAR, REMOTE_VAR = "TRUST_ENGINE", "TRUST_SPARK_REMOTE"
#: Spark Connect's URL: sc://host:port, optionally followed by /;key=value parameters (token, use_ssl, ...).
_REMOTE = re.compile(r"^sc://(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:]+\]):(?P<port>[0-9]{1,5})(?P<params>/.*)?$")


class EngineError(ValueError):
    """The engine setting is not usable; the message names the setting and the value."""


@dataclass(frozen=True)
class Engine:
    """The dbt engine of a run: ``duckdb`` (embedded) or ``spark`` (a Spark Connect server at ``spark_remote``)."""

    name: str = "duckdb"
    spark_remote: str = ""

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise EngineError(f"unknown engine {self.name!r} ({ENGINE_VAR}); known: {', '.join(ENGINES)}")
        if self.name == "spark":
            if not self.spark_remote:
                raise EngineError(f"the spark engine needs a Spark Connect URL sc://HOST:PORT ({REMOTE_VAR} or "
                                  "--spark-remote; `bash scripts/services.sh start spark` prints one)")
            match = _REMOTE.match(self.spark_remote)
            if not match or not 0 < int(match["port"]) < 65536:
                raise EngineError(f"{self.spark_remote!r} is not a Spark Connect URL sc://HOST:PORT ({REMOTE_VAR})")

    @classmethod
    def from_env(cls) -> Engine:
        name = os.environ.get(ENGINE_VAR, "").strip().lower() or "duckdb"
        return cls(name, os.environ.get(REMOTE_VAR, "").strip() if name == "spark" else "")

    @classmethod
    def choose(cls, name: str | None, spark_remote: str | None) -> Engine:
        """The engine named on a command line, falling back to the environment for what is not given."""
        current = cls.from_env()
        name = (name or current.name).lower()
        remote = spark_remote or (os.environ.get(REMOTE_VAR, "").strip() if name == "spark" else "")
        return cls(name, remote if name == "spark" else "")

    def export(self) -> None:
        """Make this the setting of this process and of what it starts (dbt, a webserver, a daemon)."""
        os.environ[ENGINE_VAR] = self.name
        if self.spark_remote:
            os.environ[REMOTE_VAR] = self.spark_remote
        else:
            os.environ.pop(REMOTE_VAR, None)

    @property
    def is_spark(self) -> bool:
        return self.name == "spark"

    @property
    def dbt_target(self) -> str:
        """The output of dbt_project/profiles.yml this engine uses."""
        return self.name

    def describe(self) -> str:
        return f"spark ({self.spark_remote})" if self.is_spark else "duckdb"


def spark_dbt_vars(marts: Path, scratch: Path) -> dict[str, object]:
    """The vars a Spark run adds: where its Delta tables go (dbt_project.yml) and which marts exist already."""
    return {"trust_spark_marts": str(marts), "trust_spark_scratch": str(scratch),
            "trust_spark_existing": existing_delta_tables(marts)}


#: Delta's primitive type names -> Spark SQL DDL (the rest are spelled the same).
_DELTA_TO_SPARK_DDL = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint"}


def existing_delta_tables(root: Path) -> dict[str, str]:
    """Delta tables directly under ``root`` (the Spark marts an earlier run left): folder name -> column DDL.

    Sail keeps its catalog in memory per session, so each dbt run registers these at start (on-run-start in
    dbt_project.yml) and incremental models extend their table instead of rebuilding it from nothing. The columns
    are declared because Sail registers a table by location alone with no columns, and dbt then sees its schema
    as changed.
    """
    if not root.is_dir():
        return {}
    from deltalake import DeltaTable

    tables = {}
    for folder in sorted(p for p in root.iterdir() if (p / "_delta_log").is_dir()):
        fields = json.loads(DeltaTable(str(folder)).schema().to_json())["fields"]
        columns = []
        for f in fields:
            if not isinstance(f["type"], str):
                raise ValueError(f"{folder}: column {f['name']} has a nested type; the marts hold flat columns")
            # nullability too: Sail refuses a declaration that differs from the log's schema in anything
            not_null = "" if f.get("nullable", True) else " not null"
            columns.append(f"`{f['name']}` {_DELTA_TO_SPARK_DDL.get(f['type'], f['type'])}{not_null}")
        tables[folder.name] = ", ".join(columns)
    return tables
