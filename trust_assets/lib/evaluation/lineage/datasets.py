"""Datasets of the stages other than publication: the dbt models' relations, the marts the audit reads, the
candidates it writes. One small description (identity, schema with descriptions, version, column lineage to named
input columns, statistics) turned into openlineage-python datasets, so every stage's events carry the same facets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trust_assets.lib.evaluation.lineage.facets import INDIRECT_SUBTYPES, PRODUCER, symlink

#: (input namespace, input name, input field, subtype)
InputColumn = tuple[str, str, str, str]


@dataclass(frozen=True)
class Dataset:
    """One dataset a stage read or wrote."""

    namespace: str
    name: str
    #: (column, type, description) in order; empty when unknown
    columns: tuple[tuple[str, str, str], ...] = ()
    description: str | None = None
    version: str | None = None
    #: output column -> the input columns it comes from
    column_lineage: Mapping[str, Sequence[InputColumn]] = field(default_factory=dict)
    #: logical name, e.g. ("delta://trust-candidates", "local_labour_market_monthly")
    symlink: tuple[str, str] | None = None
    row_count: int | None = None
    size_bytes: int | None = None
    #: audit results (input datasets only, by the spec): {"assertion", "success", ...}
    assertions: Sequence[Mapping[str, Any]] = ()


def _schema(columns: Sequence[tuple[str, str, str]]) -> Any:
    from openlineage.client.facet_v2 import schema_dataset

    return schema_dataset.SchemaDatasetFacet(fields=[
        schema_dataset.SchemaDatasetFacetFields(name=name, type=type_ or None, description=description or None,
                                                ordinal_position=i)
        for i, (name, type_, description) in enumerate(columns, start=1)], producer=PRODUCER)


def _column_lineage(mapping: Mapping[str, Sequence[InputColumn]]) -> Any:
    from openlineage.client.facet_v2 import column_lineage_dataset as cl

    fields = {}
    for column, inputs in sorted(mapping.items()):
        fields[column] = cl.Fields(inputFields=[
            cl.InputField(namespace=ns, name=name, field=col, transformations=[cl.Transformation(
                type="INDIRECT" if subtype in INDIRECT_SUBTYPES else "DIRECT", subtype=subtype)])
            for ns, name, col, subtype in sorted(set(inputs))])
    return cl.ColumnLineageDatasetFacet(fields=fields, producer=PRODUCER)


def _facets(dataset: Dataset) -> dict[str, Any]:
    from openlineage.client.facet_v2 import dataset_version_dataset, documentation_dataset

    facets: dict[str, Any] = {}
    if dataset.columns:
        facets["schema"] = _schema(dataset.columns)
    if dataset.description:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=dataset.description, contentType="text/plain", producer=PRODUCER)
    if dataset.version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=dataset.version, producer=PRODUCER)
    if dataset.column_lineage:
        facets["columnLineage"] = _column_lineage(dataset.column_lineage)
    if dataset.symlink:
        facets["symlinks"] = symlink(*dataset.symlink)
    return facets


def input_dataset(dataset: Dataset) -> Any:
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.facet_v2 import input_statistics_input_dataset

    from trust_assets.lib.evaluation.lineage.facets import assertions_facet

    extra: dict[str, Any] = {}
    if dataset.row_count is not None or dataset.size_bytes is not None:
        extra["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=dataset.row_count, size=dataset.size_bytes, producer=PRODUCER)
    if dataset.assertions:
        extra["dataQualityAssertions"] = assertions_facet(dataset.assertions)
    return InputDataset(namespace=dataset.namespace, name=dataset.name, facets=_facets(dataset),
                        inputFacets=extra)


def output_dataset(dataset: Dataset) -> Any:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset

    extra: dict[str, Any] = {}
    if dataset.row_count is not None or dataset.size_bytes is not None:
        extra["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=dataset.row_count, size=dataset.size_bytes, producer=PRODUCER)
    return OutputDataset(namespace=dataset.namespace, name=dataset.name, facets=_facets(dataset),
                         outputFacets=extra)
