"""OpenLineage events for the trust's pipeline steps, validated before anything is written.

Evaluators need to know which department table versions fed which published product version, what was checked
and what disclosure control removed. Each pipeline step reports that as OpenLineage 2-0-2 RunEvents (START, then
COMPLETE or FAIL) with the Dagster run as parent. Events go to JSON lines under ``TrustPaths.lineage`` (the
embedded default) and, when ``OPENLINEAGE_URL`` is set at call time, to an HTTP endpoint such as Marquez.

Every event is validated against the vendored OpenLineage schemas in ``specs/openlineage/`` (and each facet
against the schema its ``_schemaURL`` names, the trust's own facet against ``facets/``) before it is written, so a
malformed event fails loudly in the step that built it instead of silently in a downstream catalogue.

Usage from a pipeline step::

    emitter = LineageEmitter(paths)
    step = emitter.run_started("publish.local_labour_market_monthly", parent_run_id=context.run_id,
                               parent_job="monthly_products", inputs=[SourceRead("dwp/uc_claims", 12), ...])
    try:
        ...
        emitter.run_completed(step, outputs=[PublishedOutput("local_labour_market_monthly", 7, ...)])
    except Exception as exc:
        emitter.run_failed(step, exc)
        raise
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import traceback
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import SOURCE_TABLES, source_table

if TYPE_CHECKING:
    import pyarrow as pa
    from jsonschema.protocols import Validator

log = logging.getLogger(__name__)

#: Identifies the trust as the producer of every event and facet (a URI, as the spec asks).
PRODUCER = "https://labour-market-trust.invalid/trust_assets"
#: Namespace of the trust's jobs (Dagster steps); the Dagster run is the parent run in the same namespace.
JOB_NAMESPACE = "labour-market-trust"
#: Logical names for Delta tables, carried as a symlinks facet so readers need not parse physical paths.
SOURCE_SYMLINK_NAMESPACE = "delta://{dept}"
PUBLISHED_SYMLINK_NAMESPACE = "delta://trust-published"
CANDIDATE_SYMLINK_NAMESPACE = "delta://trust-candidates"

SPECS_DIR = Path(__file__).resolve().parent / "specs" / "openlineage"
FACETS_DIR = Path(__file__).resolve().parent / "facets"
CORE_SCHEMA_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
DISCLOSURE_FACET = "trust_disclosureControl"
DISCLOSURE_FACET_SCHEMA_ID = (
    "https://labour-market-trust.invalid/spec/facets/1-0-0/DisclosureControlDatasetFacet.json"
)
#: The standard facet schema files this module emits; the vendored copy holds exactly these.
STANDARD_FACET_FILES = (
    "ColumnLineageDatasetFacet.json",
    "DataQualityAssertionsDatasetFacet.json",
    "DatasetVersionDatasetFacet.json",
    "DocumentationDatasetFacet.json",
    "ErrorMessageRunFacet.json",
    "InputStatisticsInputDatasetFacet.json",
    "JobTypeJobFacet.json",
    "OutputStatisticsOutputDatasetFacet.json",
    "ParentRunFacet.json",
    "ProcessingEngineRunFacet.json",
    "SchemaDatasetFacet.json",
    "SymlinksDatasetFacet.json",
)
#: File the emitter appends to; readers take every ``*.jsonl`` under the lineage folder.
EVENTS_FILE = "openlineage.jsonl"
#: Column lineage subtypes that describe the whole row set rather than a value (OpenLineage: INDIRECT).
INDIRECT_SUBTYPES = frozenset({"FILTER", "GROUP_BY", "JOIN", "SORT", "WINDOW", "CONDITIONAL"})


class LineageValidationError(ValueError):
    """An event (or one of its facets) does not match the OpenLineage schemas."""


# ---------------------------------------------------------------------------------------------- step inputs


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
    location: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class StepRun:
    """A started step: what run_completed / run_failed need to close it (picklable, so it can cross processes)."""

    run_id: str
    job: str
    parent_run_id: str | None = None
    parent_job: str | None = None
    inputs: tuple[SourceRead, ...] = ()


# ------------------------------------------------------------------------------------------ dataset naming


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


def _source_location(paths: TrustPaths, read: SourceRead) -> str:
    if read.location:
        return read.location
    table = source_table(read.key)  # KeyError names the known tables
    return str(paths.source_table(table.dept, table.table))


# ------------------------------------------------------------------------------------------ facet builders


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

        @staticmethod
        def _get_schema() -> str:
            return f"{DISCLOSURE_FACET_SCHEMA_ID}#/$defs/DisclosureControlDatasetFacet"

    return DisclosureControlDatasetFacet


def disclosure_facet(policy_version: str, suppressed: Mapping[str, int]) -> Any:
    """The ``trust_disclosureControl`` facet from ``{"<column>:<reason>": count}``."""
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


def _symlink(namespace: str, name: str) -> Any:
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
        extra = {k: str(result[k]) for k in optional if result.get(k) is not None}
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


# --------------------------------------------------------------------------------------------- event builders


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_uuid(value: str) -> str:
    """Dagster run ids are UUIDs; anything else gets a stable UUID5 so the parent facet stays valid."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{JOB_NAMESPACE}:{value}"))


def _run_facets(step: StepRun) -> dict[str, Any]:
    from openlineage.client.facet_v2 import parent_run, processing_engine_run

    facets: dict[str, Any] = {}
    if step.parent_run_id:
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=_as_uuid(step.parent_run_id)),
            job=parent_run.Job(namespace=JOB_NAMESPACE, name=step.parent_job or "dagster_run"),
            producer=PRODUCER,
        )
    try:
        from importlib.metadata import version

        dagster_version = version("dagster")
    except Exception:  # the engine version is informative only
        dagster_version = "unknown"
    facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
        version=dagster_version, name="Dagster", producer=PRODUCER)
    return facets


def _job(name: str) -> Any:
    from openlineage.client.event_v2 import Job
    from openlineage.client.facet_v2 import job_type_job

    return Job(namespace=JOB_NAMESPACE, name=name, facets={
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DAGSTER", jobType="ASSET",
                                                producer=PRODUCER)})


def _source_inputs(paths: TrustPaths, reads: Sequence[SourceRead]) -> list[Any]:
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.facet_v2 import dataset_version_dataset, input_statistics_input_dataset

    datasets = []
    for read in reads:
        table = source_table(read.key)
        namespace, name = dataset_identity(_source_location(paths, read))
        facets = {
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(int(read.version)), producer=PRODUCER),
            "schema": schema_facet(table.schema, {c.name: c.description for c in table.columns}),
            "symlinks": _symlink(SOURCE_SYMLINK_NAMESPACE.format(dept=table.dept), table.table),
        }
        input_facets = {}
        if any(v is not None for v in (read.bytes_read, read.files_read, read.rows_read)):
            input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                rowCount=read.rows_read, size=read.bytes_read, fileCount=read.files_read, producer=PRODUCER)
        datasets.append(InputDataset(namespace=namespace, name=name, facets=facets, inputFacets=input_facets))
    return datasets


def _candidate_input(paths: TrustPaths, out: PublishedOutput) -> Any:
    """The audited candidate as an input of the publish step; the assertions are an input facet by spec."""
    from openlineage.client.event_v2 import InputDataset

    namespace, name = dataset_identity(out.candidate_location or paths.candidate(out.product))
    return InputDataset(namespace=namespace, name=name,
                        facets={"symlinks": _symlink(CANDIDATE_SYMLINK_NAMESPACE, out.product)},
                        inputFacets={"dataQualityAssertions": assertions_facet(out.assertions)})


def _product_output(paths: TrustPaths, out: PublishedOutput, resolve: Mapping[str, tuple[str, str]]) -> Any:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import (
        dataset_version_dataset,
        documentation_dataset,
        output_statistics_output_dataset,
    )

    from trust_assets.lib.registry.products import product

    meta = product(out.product)  # KeyError names the known products
    namespace, name = dataset_identity(out.location or paths.published_product(out.product))
    facets: dict[str, Any] = {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(int(out.version)), producer=PRODUCER),
        "symlinks": _symlink(PUBLISHED_SYMLINK_NAMESPACE, out.product),
        "documentation": documentation_dataset.DocumentationDatasetFacet(
            description=out.description or meta.description, contentType="text/plain", producer=PRODUCER),
    }
    if out.schema is not None:
        facets["schema"] = schema_facet(out.schema)
    if out.column_lineage:
        facets["columnLineage"] = column_lineage_facet(out.column_lineage, resolve)
    if out.policy_version is not None:
        facets[DISCLOSURE_FACET] = disclosure_facet(out.policy_version, out.suppressed)
    output_facets = {}
    if out.row_count is not None or out.size_bytes is not None:
        output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=out.row_count, size=out.size_bytes, producer=PRODUCER)
    return OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets=output_facets)


def build_event(paths: TrustPaths, step: StepRun, event_type: str, *, outputs: Sequence[PublishedOutput] = (),
                error: BaseException | str | None = None, event_time: str | None = None) -> dict[str, Any]:
    """One RunEvent as a plain dict (serialised by openlineage-python), not yet validated or written."""
    from openlineage.client.event_v2 import Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run
    from openlineage.client.serde import Serde

    run_facets = _run_facets(step)
    if error is not None:
        if isinstance(error, BaseException):
            message = f"{type(error).__name__}: {error}"
            stack = "".join(traceback.format_exception(error))
        else:
            message, stack = str(error), None
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=message, programmingLanguage="python", stackTrace=stack, producer=PRODUCER)
    resolve = {
        r.key: dataset_identity(_source_location(paths, r)) for r in step.inputs
    } | {  # sources not read in this step can still be named by column lineage
        t.key: dataset_identity(paths.source_table(t.dept, t.table))
        for t in SOURCE_TABLES if t.key not in {r.key for r in step.inputs}
    }
    inputs = _source_inputs(paths, step.inputs)
    inputs += [_candidate_input(paths, out) for out in outputs if out.assertions]
    event = RunEvent(
        eventType=RunState(event_type),
        eventTime=event_time or _now(),
        run=Run(runId=step.run_id, facets=run_facets),
        job=_job(step.job),
        inputs=inputs,
        outputs=[_product_output(paths, out, resolve) for out in outputs],
        producer=PRODUCER,
    )
    return Serde.to_dict(event)


# ---------------------------------------------------------------------------------------------- validation


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _registry() -> Any:
    """Every schema the events use, keyed by its $id, so $refs resolve to local files and never the network."""
    from referencing import Registry, Resource

    files = [SPECS_DIR / "OpenLineage.json", *(SPECS_DIR / "facets").glob("*.json"), *FACETS_DIR.glob("*.json")]
    resources = []
    for path in files:
        schema = _load(path)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def _validator(ref: str) -> Validator:
    from jsonschema import Draft202012Validator

    known = {uri for uri in _registry()}
    base = ref.split("#", 1)[0]
    if base not in known:
        raise LineageValidationError(f"no local schema for {ref!r}; known: {', '.join(sorted(known))}")
    return Draft202012Validator({"$ref": ref}, registry=_registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _iter_facets(event: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for kind in ("run", "job"):
        for name, facet in ((event.get(kind) or {}).get("facets") or {}).items():
            yield f"{kind}.facets.{name}", facet
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for i, dataset in enumerate(event.get(side) or []):
            for group in ("facets", extra):
                for name, facet in (dataset.get(group) or {}).items():
                    yield f"{side}[{i}].{group}.{name}", facet


def _errors(validator: Validator, instance: Any, where: str) -> list[str]:
    out = []
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path)
        out.append(f"{where}{'.' + path if path else ''}: {err.message}")
    return out


def validate_event(event: Mapping[str, Any]) -> None:
    """Raise LineageValidationError listing every problem: the core RunEvent schema, then each facet's schema."""
    problems = _errors(_validator(f"{CORE_SCHEMA_ID}#/$defs/RunEvent"), event, "event")
    for where, facet in _iter_facets(event):
        url = facet.get("_schemaURL") if isinstance(facet, Mapping) else None
        if not url:
            problems.append(f"{where}: facet has no _schemaURL")
            continue
        try:
            problems += _errors(_validator(url), facet, where)
        except LineageValidationError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise LineageValidationError("invalid OpenLineage event:\n  " + "\n  ".join(problems))


# ------------------------------------------------------------------------------------------------ emitting


def _append_line(path: Path, line: str) -> None:
    """Append one event; the lock keeps lines whole when parallel Dagster steps write at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(line + "\n")
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _post(event: Mapping[str, Any], url: str) -> None:
    """Send to a Marquez-compatible endpoint through openlineage-python's HTTP transport."""
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    endpoint = os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
    config = HttpConfig.from_dict({"url": url, "endpoint": endpoint, "timeout": 5.0,
                                   "retry": {"total": 2, "backoff_factor": 0.2}})
    HttpTransport(config).emit(dict(event))  # Serde serialises a plain dict as-is


class LineageEmitter:
    """Builds, validates and writes a step's START / COMPLETE / FAIL events."""

    def __init__(self, paths: TrustPaths) -> None:
        self.paths = paths

    @property
    def events_path(self) -> Path:
        return self.paths.lineage / EVENTS_FILE

    def emit(self, event: dict[str, Any]) -> dict[str, Any]:
        """Validate, append to the JSON lines file, then POST when ``OPENLINEAGE_URL`` is set.

        The file is the record the report reads, so it is written first; an unreachable HTTP endpoint logs a
        warning rather than failing a publication that has already committed.
        """
        validate_event(event)
        _append_line(self.events_path, json.dumps(event, sort_keys=True, separators=(",", ":")))
        url = os.environ.get("OPENLINEAGE_URL", "").strip()
        if url:
            try:
                _post(event, url)
            except Exception as exc:  # the JSON lines file already holds the event
                log.warning("OpenLineage HTTP emit to %s failed: %s", url, exc)
        return event

    def run_started(self, job: str, *, parent_run_id: str | None = None, parent_job: str | None = None,
                    inputs: Sequence[SourceRead] = (), run_id: str | None = None,
                    event_time: str | None = None) -> StepRun:
        from openlineage.client.uuid import generate_new_uuid

        step = StepRun(run_id=run_id or str(generate_new_uuid()), job=job, parent_run_id=parent_run_id,
                       parent_job=parent_job, inputs=tuple(inputs))
        self.emit(build_event(self.paths, step, "START", event_time=event_time))
        return step

    def run_completed(self, step: StepRun, *, outputs: Sequence[PublishedOutput] = (),
                      event_time: str | None = None) -> dict[str, Any]:
        return self.emit(build_event(self.paths, step, "COMPLETE", outputs=outputs, event_time=event_time))

    def run_failed(self, step: StepRun, error: BaseException | str, *,
                   event_time: str | None = None) -> dict[str, Any]:
        return self.emit(build_event(self.paths, step, "FAIL", error=error, event_time=event_time))


def read_events(paths: TrustPaths) -> list[dict[str, Any]]:
    """Every event under the lineage folder, oldest first; a missing folder means no events yet."""
    events = []
    for path in sorted(paths.lineage.glob("*.jsonl")) if paths.lineage.is_dir() else []:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON event ({exc.msg})") from exc
    return sorted(events, key=lambda e: e.get("eventTime", ""))


# -------------------------------------------------------------------------------- column lineage from dbt


def column_lineage_from_dbt(manifest: Mapping[str, Any] | Path, model: str,
                            columns: Iterable[str] | None = None) -> dict[str, list[tuple[str, str, str]]]:
    """Best-effort column lineage for a dbt model, from dbt's ``manifest.json``.

    dbt records model-level dependencies (``depends_on.nodes``) but not column-level ones, so this walks the
    model's upstream graph to its sources, then, for each product column, uses sqlglot (installed with dbt) on the
    compiled SQL of each model to trace the column back through the staging and intermediate models. When the
    SQL cannot be traced (not compiled, or an expression sqlglot cannot follow) it falls back to source columns of
    the same name. Source nodes are mapped to sources.py keys by ``source_name/name`` (``dwp/uc_claims``).
    Subtypes: ``IDENTITY`` for a renamed/selected column, ``TRANSFORMATION`` for an expression, ``AGGREGATION``
    when the traced path goes through an aggregate function.
    """
    data = _load(manifest) if isinstance(manifest, Path) else manifest
    nodes = {**data.get("nodes", {}), **data.get("sources", {})}
    target = next((k for k, n in data.get("nodes", {}).items()
                   if n.get("resource_type") == "model" and n.get("name") == model), None)
    if target is None:
        raise KeyError(f"model {model!r} not in the dbt manifest")
    node = nodes[target]
    wanted = list(columns) if columns is not None else list((node.get("columns") or {}).keys())

    result: dict[str, list[tuple[str, str, str]]] = {}
    for column in wanted:
        found: set[tuple[str, str, str]] = set()
        try:
            _trace(nodes, target, column, "IDENTITY", found, depth=0)
        except Exception as exc:  # best effort: fall back to name matching below
            log.debug("sqlglot could not trace %s.%s: %s", model, column, exc)
            found = set()
        if not found:
            for source_id in _upstream_sources(nodes, target):
                key = _source_key(nodes[source_id])
                if key and column in {c.name for c in _known_columns(key)}:
                    found.add((key, column, "IDENTITY"))
        if found:
            result[column] = sorted(found)
    return result


def _source_key(node: Mapping[str, Any]) -> str | None:
    key = f"{node.get('source_name')}/{node.get('name')}"
    return key if any(t.key == key for t in SOURCE_TABLES) else None


def _known_columns(key: str) -> tuple[Any, ...]:
    return source_table(key).columns


def _upstream_sources(nodes: Mapping[str, Any], start: str) -> set[str]:
    seen, stack, found = set(), [start], set()
    while stack:
        current = stack.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        if nodes[current].get("resource_type") == "source":
            found.add(current)
        stack.extend((nodes[current].get("depends_on") or {}).get("nodes", []))
    return found


def _relation_aliases(nodes: Mapping[str, Any], node_id: str) -> dict[str, str]:
    """Lower-case table name as it appears in compiled SQL -> upstream node id."""
    out = {}
    for parent in (nodes[node_id].get("depends_on") or {}).get("nodes", []):
        if parent in nodes:
            p = nodes[parent]
            for name in {p.get("alias"), p.get("name"), p.get("identifier")} - {None}:
                out[str(name).lower()] = parent
    return out


def _trace(nodes: Mapping[str, Any], node_id: str, column: str, subtype: str,
           found: set[tuple[str, str, str]], depth: int) -> None:
    if depth > 20:
        raise RecursionError("dbt graph deeper than 20 models")
    node = nodes[node_id]
    if node.get("resource_type") == "source":
        key = _source_key(node)
        if key:
            found.add((key, column, subtype))
        return
    sql = node.get("compiled_code")
    if not sql:
        raise ValueError(f"{node_id} has no compiled_code (run dbt compile)")
    from sqlglot import exp
    from sqlglot.lineage import lineage

    root = lineage(column, sql, None, dialect="duckdb")
    aliases = _relation_aliases(nodes, node_id)
    for leaf in root.walk():
        if leaf.downstream:
            continue
        source = leaf.source
        if not isinstance(source, exp.Table):
            continue
        parent = aliases.get(source.name.lower())
        if parent is None:
            continue
        path_subtype = subtype
        if any(isinstance(n.expression, exp.Alias) and n.expression.find(exp.AggFunc) for n in root.walk()):
            path_subtype = "AGGREGATION"
        elif subtype == "IDENTITY" and not isinstance(root.expression.unalias() if isinstance(
                root.expression, exp.Alias) else root.expression, exp.Column):
            path_subtype = "TRANSFORMATION"
        _trace(nodes, parent, leaf.name.split(".")[-1], path_subtype, found, depth + 1)
