"""What a published table says about itself: Delta name, description and column comments, from the dbt YAML.

The marts' YAML (``dbt_project/models/marts/_marts__models.yml``) is the one place a published column is defined;
the same words reach docs/products.md (``data_dictionary``), the Dagster UI and, through this module, the Delta
table itself, so any Delta reader (Spark ``DESCRIBE``, deltalake's schema, a Delta Sharing client's metadata)
shows them. The columns the audit adds (``<measure>_status``, ``suppression``) are described here, beside the
vocabulary that defines them. Applied on every publish; a table already described the same way gets no commit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trust_assets.lib.paths import DBT_PROJECT_DIR
from trust_assets.lib.registry.cell_status import REASONS, STATUS_SUFFIX, SUPPRESSION_COLUMN
from trust_assets.lib.registry.products import product
from trust_assets.lib.storage import delta_table

MARTS_YAML = DBT_PROJECT_DIR / "models" / "marts" / "_marts__models.yml"
#: The Delta/Spark convention for a column's description (field metadata key).
COMMENT_KEY = "comment"
#: Commit metadata of a describe-only commit: no run, no data, so readers of provenance skip it.
DESCRIBE_OPERATION = {"trust.operation": "describe"}

SUPPRESSION_COMMENT = (
    "Why cells of this row are hidden: column:reason pairs separated by ';' (reasons: "
    + ", ".join(REASONS) + "); null when nothing in the row is suppressed. The <measure>_status columns say the "
    "same per measure, typed.")


def status_comment(measure: str) -> str:
    return (f"Why {measure} has a value or not: published; suppressed_<reason> (hidden by disclosure control, "
            f"reason one of {', '.join(REASONS)}); not_yet_observable (its follow-up month is newer than the "
            f"newest month the departments have shared); not_applicable (nothing to measure, e.g. a median of "
            f"nobody). Never null.")


@dataclass(frozen=True)
class TableDescription:
    name: str
    description: str
    #: column -> comment, for every column the description knows
    columns: Mapping[str, str]


def _mart_yaml(path: Path) -> dict[str, Any]:
    return _parsed_mart_yaml(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _parsed_mart_yaml(path: Path, mtime_ns: int) -> dict[str, Any]:
    """Parsed once per file version (keyed on its mtime), with libyaml when present: a release describes every
    product twice, and the pure-Python parser took ~40 ms a time on the marts' YAML."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(path.read_text(), Loader=loader) or {}
    return {m["name"]: m for m in raw.get("models", [])}


def _clean(text: Any) -> str:
    return " ".join(str(text or "").split())


def describe(product_name: str, columns: Iterable[str], marts_yaml: Path = MARTS_YAML) -> TableDescription:
    """The description of a published product's table: title and model description, a comment per column.

    Raises KeyError naming the product when the marts' YAML has no model for it (a product without a definition
    must not be published silently undocumented).
    """
    p = product(product_name)
    models = _mart_yaml(marts_yaml)
    if p.name not in models:
        raise KeyError(f"{marts_yaml} has no model {p.name}: every product needs its dbt definition")
    model = models[p.name]
    documented = {c["name"]: _clean(c.get("description")) for c in model.get("columns", [])}
    comments: dict[str, str] = {}
    for col in columns:
        if col == SUPPRESSION_COLUMN:
            comments[col] = SUPPRESSION_COMMENT
        elif col.endswith(STATUS_SUFFIX) and col.removesuffix(STATUS_SUFFIX) in documented:
            comments[col] = status_comment(col.removesuffix(STATUS_SUFFIX))
        elif documented.get(col):
            comments[col] = documented[col]
    model_text = _clean(model.get("description")).replace("See docs/products.md.", "").strip()
    description = (f"{p.title}. {model_text} Read it with a Delta reader (never the parquet files directly: "
                   "superseded files stay in the folder); pay is in pounds; see docs/products.md.")
    return TableDescription(name=p.name, description=description, columns=comments)


def with_comments(schema, described: TableDescription):
    """An Arrow schema whose fields carry the comments (used when the table is created)."""
    import pyarrow as pa

    return pa.schema([f.with_metadata({COMMENT_KEY: described.columns[f.name]}) if f.name in described.columns
                      else f.remove_metadata() for f in schema])


def without_comments(table):
    """The data with no field metadata: writes into an existing table then keep the table's own comments."""
    import pyarrow as pa

    return table.cast(pa.schema([f.remove_metadata() for f in table.schema]))


def apply_description(uri: str, described: TableDescription) -> int:
    """Bring an existing table's name, description and column comments up to ``described``; commits made.

    Each change is its own Delta commit (deltalake's alterer has no batch form), so nothing is committed when the
    table already says what the YAML says: republishing does not grow the history.
    """
    from deltalake import CommitProperties

    table = delta_table(uri)
    props = CommitProperties(custom_metadata=DESCRIBE_OPERATION)
    commits = 0
    metadata = table.metadata()
    if metadata.name != described.name:
        table.alter.set_table_name(described.name, commit_properties=props)
        commits += 1
    if metadata.description != described.description:
        table.alter.set_table_description(described.description, commit_properties=props)
        commits += 1
    current = {f.name: dict(f.metadata or {}) for f in table.schema().fields}
    for col, comment in described.columns.items():
        if col in current and current[col].get(COMMENT_KEY) != comment:
            table.alter.set_column_metadata(col, {**current[col], COMMENT_KEY: comment},
                                            commit_properties=props)
            commits += 1
    return commits


def read_description(uri: str, version: int | None = None) -> TableDescription:
    """What a Delta table says about itself (for the sharing server, the catalogue and the tests)."""
    table = delta_table(uri, version=version) if version is not None else delta_table(uri)
    metadata = table.metadata()
    columns = {f.name: str((f.metadata or {}).get(COMMENT_KEY)) for f in table.schema().fields
               if (f.metadata or {}).get(COMMENT_KEY)}
    return TableDescription(name=metadata.name or "", description=metadata.description or "", columns=columns)
