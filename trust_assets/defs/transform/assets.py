"""dbt models as Dagster assets: staging views over the pinned sources, intermediate conformance, marts.

The manifest is prepared by the set-up and test commands (``dbt parse``); definitions only read it, lazily, when
Dagster loads the code location.
"""


import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from trust_assets.defs.partitions import monthly_partitions, partition_months
from trust_assets.defs.resources import SourcePins, TransformEngine, TrustStorage
from trust_assets.defs.sources.assets import PINNED_SOURCES
from trust_assets.defs.transform.metadata import enrich_held, held_back, load_hops, with_lineage
from trust_assets.lib.transform.dbt_args import DbtBuild, dbt_build_args
from trust_assets.lib.transform.engine import Engine

LAYERS = ("staging", "intermediate", "marts")
REFERENCE_GROUP = "reference"


class TrustDbtTranslator(DagsterDbtTranslator):
    """Maps dbt sources onto the department observable sources and models into the ``warehouse`` namespace."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey(["warehouse", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":  # ONS districts, SIC, sector subject areas
            return REFERENCE_GROUP
        fqn = dbt_resource_props.get("fqn", [])
        layer = next((part for part in fqn if part in LAYERS), None)
        return layer or "transform"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:labour-market-trust"]

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest.get("nodes", {}).get(unique_id, {})
        if node.get("resource_type") == "model" and "staging" in node.get("fqn", []):
            # Staging reads only what the run pinned and checked.
            spec = spec.merge_attributes(deps=[PINNED_SOURCES])
        return spec


def _run_manifest(invocation: Any) -> dict[str, Any]:
    """The manifest dbt wrote for this build (it names each stored-failures table); else the parsed one."""
    try:
        return invocation.get_artifact("manifest.json")
    except (OSError, ValueError):
        return dict(invocation.manifest)


def _run_results(invocation: Any) -> dict[str, Any] | None:
    """dbt's run_results.json of the invocation, when dbt got far enough to write it."""
    try:
        return invocation.get_artifact("run_results.json")
    except (OSError, ValueError):
        return None


def _build_args(trust: TrustStorage, engine: Engine, pins: dict, months: list[str]) -> DbtBuild:
    """dbt's arguments for the engine. On Spark, tables are Delta under the trust's storage and the run's scratch
    (person-level intermediates, reference tables) starts empty; _clean_scratch removes it after the run."""
    if not engine.is_spark:
        _clean_scratch(trust, engine)  # a killed run's scratch file must not be read as this run's
        return dbt_build_args(pins, months)
    from trust_assets.lib.transform.engine import spark_dbt_vars

    paths = trust.paths()
    engine.export()  # the dbt process reads TRUST_SPARK_REMOTE (profiles.yml)
    _clean_scratch(trust, engine)
    paths.spark_marts.mkdir(parents=True, exist_ok=True)
    return dbt_build_args(pins, months, target=engine.dbt_target,
                          extra_vars=spark_dbt_vars(paths.spark_marts, paths.spark_scratch))


def _start_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, build: DbtBuild, target: Path,
               project_dir: Path) -> Any:
    """Start ``dbt build`` in ``target``: with the last run's parse when the project's files are the ones it parsed
    (lib/transform/dbt_state.py), else parsing whole; the run's pins and months in dbt's environment."""
    from trust_assets.lib.transform.dbt_state import project_fingerprint, reuse_partial_parse

    reused = reuse_partial_parse(target.parent, target, project_fingerprint(project_dir))
    context.log.debug(f"dbt reuses the parse of {reused.parent.name}" if reused
                      else "dbt parses the project whole (no earlier run parsed these project files)")
    args = build.args if reused else [*build.args, "--no-partial-parse"]
    # dagster-dbt takes no environment of its own: it hands dbt a copy of os.environ as it starts it
    with mock.patch.dict(os.environ, build.env):
        invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target)
    # with no earlier run's parse dagster-dbt copied the checkout's (0644) here (unread: --no-partial-parse), and
    # dbt writes its own over it: keep it private
    for copied in target.glob("partial_parse.msgpack"):
        copied.chmod(0o600)
    return invocation


def _clean_scratch(trust: TrustStorage, engine: Engine) -> None:
    """Remove the run's person-level scratch: Spark's scratch tables, or DuckDB's run_scratch file and its WAL."""
    if engine.is_spark:
        import shutil

        shutil.rmtree(trust.paths().spark_scratch, ignore_errors=True)
        return
    scratch = trust.paths().duckdb_scratch
    for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
        leftover.unlink(missing_ok=True)


def dbt_project() -> DbtProject:
    from trust_assets.lib.paths import DBT_PROJECT_DIR

    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    if not project.manifest_path.exists():
        raise FileNotFoundError(
            f"dbt manifest not found at {project.manifest_path}: run `bash scripts/bootstrap.sh` "
            "(or `python -m trust_assets.lib.transform.dbt_prepare`) to prepare it"
        )

    translator = TrustDbtTranslator(settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True, enable_duplicate_source_asset_keys=True, enable_code_references=True))

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="dbt_models",
        partitions_def=monthly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=translator,
        pool="duckdb_warehouse",
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, source_pins: SourcePins,
                   trust: TrustStorage, engine: TransformEngine):
        import uuid

        from trust_assets.lib.audit.gx_loading import import_in_background
        from trust_assets.lib.evaluation.lineage.dbt_events import dbt_stage_inputs, emit_model_events
        from trust_assets.lib.evaluation.lineage.dbt_graph import load_dbt_lineage
        from trust_assets.lib.evaluation.lineage.stages import DBT_JOB, stage
        from trust_assets.lib.evaluation.lineage.transport import LineageEmitter
        from trust_assets.lib.publish.lineage import pin_locations
        from trust_assets.lib.publish.maintenance import prune_run_folders

        months = partition_months(context)
        pins = source_pins.pins()
        chosen = engine.engine()
        build = _build_args(trust, chosen, pins, months)
        context.log.info(f"dbt build on {chosen.describe()} for {months} over " + ", ".join(
            f"{k}@v{v}" for k, v in source_pins.summary().items()))
        # dbt's target and log folder of this invocation lives under TRUST_HOME (not the checkout), and folders
        # past their retention (policies/retention.yaml) go first.
        prune_run_folders(source_pins.paths().dbt_runs, "dbt_runs")
        target = source_pins.paths().dbt_runs / f"{context.run.run_id[:8]}-{uuid.uuid4().hex[:6]}"
        emitter, graph, locations = LineageEmitter(source_pins.paths()), load_dbt_lineage(), pin_locations(pins)
        with stage(emitter, DBT_JOB, context.run.run_id, context.job_name,
                   datasets=dbt_stage_inputs(emitter.paths, graph, locations)) as step:
            invocation = _start_dbt(context, dbt, build, target, project.project_dir)
            import_in_background()  # the audit step's GX, loaded while dbt starts up (lib/audit/gx_loading.py)
            failed: list[str] = []
            held: list[Any] = []  # failed checks and warehouse tables' outputs, enriched once dbt exits
            hops = load_hops()
            try:
                for event in invocation.stream():
                    if isinstance(event, dg.AssetCheckResult) and not event.passed and (
                            event.severity == dg.AssetCheckSeverity.ERROR):
                        failed.append(f"{event.asset_key.to_user_string() if event.asset_key else ''}:"
                                      f"{event.check_name}")
                    event = with_lineage(event, hops, invocation.manifest, translator.get_asset_key)
                    # Outputs must stay in topological order: once one is held, every later event is held too.
                    if any(isinstance(e, dg.Output) for e in held) or held_back(
                            event, invocation.manifest, counted=not chosen.is_spark):
                        held.append(event)
                    else:
                        yield event
            finally:  # one job per model dbt ran, failed or not; the dbt step's FAIL names what failed
                _clean_scratch(trust, chosen)
                results = _run_results(invocation)
                if graph is not None and results:
                    failures = emit_model_events(emitter, graph, results, step.step, locations)
                    step.failure = "dbt build failed: " + " | ".join(failures) if failures else None
            yield from enrich_held(held, None if chosen.is_spark else trust.paths().warehouse,
                                   _run_manifest(invocation), months)
            if not invocation.is_successful():
                raise dg.Failure(description=dbt_failure_cause(failed, invocation.get_error()),
                                 metadata={"dbt command (start)": str(invocation.dbt_command)[:200] + " …"})

    return whole_build_only(dbt_models)


def dbt_failure_cause(failed_checks: list[str], error: Exception | None) -> str:
    """The step error, cause first: which blocking tests failed, then dbt's own error lines.

    dagster-dbt's error opens with the whole ``dbt build --vars {...}`` command (thousands of characters of pinned
    file paths), so the cause was off the screen; the command is kept, shortened, in the failure's metadata.
    """
    parts = []
    if failed_checks:
        parts.append(f"{len(failed_checks)} blocking dbt test(s) failed: " + ", ".join(failed_checks[:5])
                     + (" …" if len(failed_checks) > 5 else ""))
    text = str(getattr(error, "description", None) or error or "")
    marker = "Errors parsed from dbt logs:"
    if marker in text:
        lines = [" ".join(line.split()) for line in text.split(marker, 1)[1].split("\n\n") if line.strip()]
        parts.append("dbt: " + " | ".join(line[:300] for line in lines[:3]))
    return "dbt build failed: " + ("; ".join(parts) or "see the step's logs")


def whole_build_only(assets: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The dbt models as one non-subsettable step: the UI then offers them only together.

    The person-level models live in ``run_scratch``, an in-memory database that exists for one ``dbt build``:
    one mart, or one dbt test, run alone finds nothing to read (``run_scratch ... does not exist``). Not
    subsettable, Dagster refuses a launch of part of the build before any run starts, and reports each dbt check
    as requiring the materialization (``canExecuteIndividually: REQUIRES_MATERIALIZATION``), so the UI offers no
    "Execute" that cannot work. ``dbt_assets`` has no ``can_subset`` parameter; its attributes are copied with
    ``can_subset=False`` (the same constructor ``with_attributes`` uses).
    """
    attributes = assets.get_attributes_dict()
    return dg.AssetsDefinition.dagster_internal_init(**{
        **attributes, "can_subset": False, "specs": [unpartitioned_reference(spec) for spec in attributes["specs"]]})


def unpartitioned_reference(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Reference seeds (ONS districts, SIC sections, sector subject areas) are static, not monthly: no partitions.

    They stay in the one dbt build (the staging reference views and the conformance read them in the same
    invocation; on Spark they live only in the run's scratch), so every monthly run rebuilds them and records one
    unpartitioned materialization of each beside the month's partitioned ones (Dagster allows unpartitioned specs
    in a partitioned, non-subsettable multi-asset). Their code version is the CSV's checksum (dagster-dbt's default),
    so the UI shows a changed seed as a new code version.
    """
    return spec.replace_attributes(partitions_def=None) if spec.group_name == REFERENCE_GROUP else spec
