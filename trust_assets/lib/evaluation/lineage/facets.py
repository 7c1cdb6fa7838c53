"""What the trust tells OpenLineage about a step: its inputs and outputs, and the facets that describe them.

Evaluators need to know which department table versions fed which published product version, what was checked
and what disclosure control removed. The dataclasses here are what a pipeline step hands over; the builders turn
them into openlineage-python facets (the trust's own ``trust_disclosureControl`` facet among them).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import source_table

if TYPE_CHECKING:
    import pyarrow as pa


#: Identifies the trust as the producer of every event and facet (a URI, as the spec asks).
PRODUCER = "https://labour-market-trust.invalid/trust_assets"
#: Namespace of the trust's jobs (Dagster steps); the Dagster run is the parent run in the same namespace.
JOB_NAMESPACE = "labour-market-trust"
#: Logical names for Delta tables, carried as a symlinks facet so readers need not parse physical paths.
SOURCE_SYMLINK_NAMESPACE = "delta://{dept}"
PUBLISHED_SYMLINK_NAMESPACE = "delta://trust-published"
CANDIDATE_SYMLINK_NAMESPACE = "delta://trust-candidates"
DISCLOSURE_FACET = "trust_disclosureControl"
DISCLOSURE_FACET_SCHEMA_ID = (
    "https://labour-market-trust.invalid/spec/facets/1-0-0/DisclosureControlDatasetFacet.json"
)
#: Column lineage subtypes that describe the whole row set rather than a value (OpenLineage: INDIRECT).
INDIRECT_SUBTYPES = frozenset({"FILTER", "GROUP_BY", "JOIN", "SORT", "WINDOW", "CONDITIONAL"})


@dataclass(frozen=True)
class SourceRead:
    """One department table version a step read in place."""

    key: str
    """``dept/table`` as in sources.py."""
    version: int
    """The Delta version pinned for this run."""
    location: str | None = None
    """Table URI or path; defaults to ``TrustPaths.source_table``."""
    bytes_read: int | None = None
    files_read: int | None = None
    rows_read: int | None = None


@dataclass(frozen=True)
class PublishedOutput:
    """One published product version, with what the audit and disclosure control found."""

    product: str
    version: int
    """The Delta version of the publish commit."""
    row_count: int | None = None
    size_bytes: int | None = None
    schema: pa.Schema | None = None
    column_lineage: Mapping[str, Sequence[tuple[str, ...]]] = field(default_factory=dict)
    """Product column -> ``(source key, source column[, subtype])`` e.g. ``("dwp/uc_claims", "person_id",
    "AGGREGATION")``; subtypes FILTER/GROUP_BY/JOIN/SORT/WINDOW/CONDITIONAL are INDIRECT, the rest DIRECT."""
    assertions: Sequence[Mapping[str, Any]] = ()
    """Audit results on the candidate: ``{"assertion", "success", "column"?, "severity"?, "name"?, ...}``."""
    candidate_location: str | None = None
    policy_version: str | None = None
    suppressed: Mapping[str, int] = field(default_factory=dict)
    """``"<column>:<reason>" -> count``, the same shape as the ``trust.suppressed`` commit metadata."""
    protection: Mapping[str, Any] = field(default_factory=dict)
    """Cells each protection touched (``trust.protection`` commit metadata, ``perturbation.product_protection``)."""
    location: str | None = None
    description: str | None = None
    column_descriptions: Mapping[str, str] = field(default_factory=dict)
    """Column -> description (the dbt YAML's), for the schema facet."""


@dataclass(frozen=True)
class StepRun:
    """A started step: what run_completed / run_failed need to close it (picklable, so it can cross processes)."""

    run_id: str
    job: str
    parent_run_id: str | None = None
    parent_job: str | None = None
    inputs: tuple[SourceRead, ...] = ()
    #: other inputs (``datasets.Dataset``: dbt relations, marts, candidates), repeated on COMPLETE / FAIL
    datasets: tuple[Any, ...] = ()


def dataset_identity(location: str | os.PathLike[str]) -> tuple[str, str]:
    """OpenLineage (namespace, name) for a table location, following the spec's naming conventions.

    Local paths become ``("file", "/abs/path")``; object stores ``("s3://bucket", "key/path")``, so the same
    Delta table gets the same identity whoever reports it (a Spark job writing it, the trust reading it).
    """
    text = os.fspath(location)
    parsed = urlparse(text)
    if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # one letter: a Windows drive
        path = parsed.path if parsed.scheme == "file" else text
        return "file", str(Path(path).resolve())
    if not parsed.netloc:
        raise ValueError(f"table location {text!r} has a scheme but no bucket/host")
    return f"{parsed.scheme}://{parsed.netloc}", parsed.path.lstrip("/")


def source_location(paths: TrustPaths, read: SourceRead) -> str:
    if read.location:
        return read.location
    table = source_table(read.key)  # KeyError names the known tables
    return str(paths.source_table(table.dept, table.table))


@cache
def _disclosure_facet_class() -> type:
    """The custom facet as an openlineage-python facet class (built on first use: no import cost at load)."""
    import attr
    from openlineage.client.facet_v2 import DatasetFacet

    @attr.define
    class DisclosureControlDatasetFacet(DatasetFacet):
        policyVersion: str  # camelCase: OpenLineage field naming
        suppressedCells: int
        suppressions: list[dict[str, Any]] = attr.field(factory=list)
        perturbedCells: int | None = None
        crossReleaseWithheld: int | None = None
        pinnedByEarlierReleases: int | None = None
        protections: list[dict[str, Any]] | None = None
        perturbations: list[dict[str, Any]] | None = None

        @staticmethod
        def _get_schema() -> str:
            return f"{DISCLOSURE_FACET_SCHEMA_ID}#/$defs/DisclosureControlDatasetFacet"

    return DisclosureControlDatasetFacet


def _protection_fields(protection: Mapping[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The facet's per-rule and perturbation fields from a ``trust.protection`` summary (empty without one)."""
    if "count_cells_perturbed" not in protection:
        return {}
    method = str(protection.get("count_method", "keyed_rounding"))
    by_rule: dict[str, int] = {}
    for r in rows:
        by_rule[r["reason"]] = by_rule.get(r["reason"], 0) + r["count"]
    rules = [{"rule": k, "action": "suppressed", "cells": v} for k, v in sorted(by_rule.items())]
    rules.append({"rule": method, "action": "perturbed", "cells": int(protection["count_cells_perturbed"])})
    if protection.get("pay_cells_published"):
        rules.append({"rule": "pay_rounding", "action": "perturbed", "cells": int(protection["pay_cells_rounded"])})
    columns = []
    for column, c in sorted(dict(protection.get("columns", {})).items()):
        published = int(c["published"])
        columns.append({"column": column, "method": method if c["kind"] == "count" else "pay_rounding",
                        "publishedCells": published, "perturbedCells": int(c["perturbed"]),
                        "meanAbsolutePerturbation": round(float(c["abs_perturbation"]) / published, 4)
                        if published else 0.0})
    return {"perturbedCells": int(protection["count_cells_perturbed"]),
            "crossReleaseWithheld": int(by_rule.get("cross_release", 0)),
            "pinnedByEarlierReleases": int(protection.get("cross_release_pinned_by_history", 0)),
            "protections": rules, "perturbations": columns}


def disclosure_facet(policy_version: str, suppressed: Mapping[str, int],
                     protection: Mapping[str, Any] | None = None) -> Any:
    """The ``trust_disclosureControl`` facet from ``{"<column>:<reason>": count}`` and, when the audit recorded it,
    the cells each rule protected (``perturbation.product_protection``: keyed rounding's perturbed counts, the
    cross-release rule's withheld cells)."""
    rows = []
    for key, count in sorted(suppressed.items()):
        column, sep, reason = key.partition(":")
        if not sep or not column or not reason:
            raise ValueError(f"suppressed key {key!r} is not '<column>:<reason>'")
        if int(count) < 0:
            raise ValueError(f"suppressed count for {key!r} is negative: {count}")
        rows.append({"column": column, "reason": reason, "count": int(count)})
    return _disclosure_facet_class()(
        policyVersion=str(policy_version),
        suppressedCells=sum(r["count"] for r in rows),
        suppressions=rows,
        producer=PRODUCER,
        **_protection_fields(protection or {}, rows),
    )


def schema_facet(schema: pa.Schema, descriptions: Mapping[str, str] | None = None) -> Any:
    from openlineage.client.facet_v2 import schema_dataset

    descriptions = descriptions or {}
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(
                name=f.name,
                type=str(f.type),
                description=descriptions.get(f.name)
                or ((f.metadata or {}).get(b"description", b"").decode() or None),
                ordinal_position=i,
            )
            for i, f in enumerate(schema, start=1)
        ],
        producer=PRODUCER,
    )


def symlink(namespace: str, name: str) -> Any:
    from openlineage.client.facet_v2 import symlinks_dataset

    return symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[symlinks_dataset.Identifier(namespace=namespace, name=name, type="TABLE")],
        producer=PRODUCER,
    )


def assertions_facet(results: Iterable[Mapping[str, Any]]) -> Any:
    """dataQualityAssertions from GX / disclosure audit results (``assertion`` and ``success`` required)."""
    from openlineage.client.facet_v2 import data_quality_assertions_dataset as dqa

    optional = ("column", "severity", "name", "description", "expected", "actual")
    assertions = []
    for i, result in enumerate(results):
        if "assertion" not in result or "success" not in result:
            raise ValueError(f"assertion #{i} needs 'assertion' and 'success': {dict(result)!r}")
        extra: dict[str, Any] = {k: str(result[k]) for k in optional if result.get(k) is not None}
        assertions.append(dqa.Assertion(assertion=str(result["assertion"]), success=bool(result["success"]),
                                        **extra))
    return dqa.DataQualityAssertionsDatasetFacet(assertions=assertions, producer=PRODUCER)


def column_lineage_facet(mapping: Mapping[str, Sequence[tuple[str, ...]]],
                         resolve: Mapping[str, tuple[str, str]]) -> Any:
    """columnLineage from ``{product column: [(source key, column[, subtype]), ...]}``.

    ``resolve`` maps a source key to its dataset (namespace, name); an unknown key is an error, since lineage
    that points at a dataset no event mentions cannot be joined by a lineage backend.
    """
    from openlineage.client.facet_v2 import column_lineage_dataset as cl

    fields = {}
    for column, sources in mapping.items():
        inputs = []
        for entry in sources:
            if len(entry) not in (2, 3):
                raise ValueError(f"column lineage for {column!r}: expected (key, column[, subtype]), got {entry!r}")
            key, source_column = entry[0], entry[1]
            if key not in resolve:
                raise ValueError(f"column lineage for {column!r} names unknown input {key!r}; "
                                 f"known: {', '.join(sorted(resolve))}")
            namespace, name = resolve[key]
            transformations = []
            if len(entry) == 3:
                subtype = str(entry[2]).upper()
                kind = "INDIRECT" if subtype in INDIRECT_SUBTYPES else "DIRECT"
                transformations = [cl.Transformation(type=kind, subtype=subtype)]
            inputs.append(cl.InputField(namespace=namespace, name=name, field=source_column,
                                        transformations=transformations))
        fields[column] = cl.Fields(inputFields=inputs)
    return cl.ColumnLineageDatasetFacet(fields=fields, producer=PRODUCER)
