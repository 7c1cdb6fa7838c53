"""Published products: one atomic Delta commit per product, only after every blocking check passed.

This step depends on the candidates, whose checks are blocking, so Dagster does not run it when any check of the
release failed: the published tables then stay at their last good version. The release manifest row
(``lib/publish/releases.py``) is committed last, after the release steps (``defs/publish/steps.py``): until then
readers keep serving the previous complete release.
"""


import dagster as dg

from trust_assets.defs.audit.assets import candidate_key
from trust_assets.defs.automation import product_freshness_policy
from trust_assets.defs.partitions import monthly_partitions, partition_months, release_id
from trust_assets.defs.resources import SourcePins, TrustStorage
from trust_assets.lib.registry.products import PRODUCTS, Product


def published_key(product: Product) -> dg.AssetKey:
    return dg.AssetKey(["published", product.name])


def published_columns(product: Product, types: dict[str, str] | None = None) -> dg.TableSchema:
    """The published table's columns with their descriptions (the same words the Delta table carries)."""
    from trust_assets.lib.audit.disclosure.policy import load_policy
    from trust_assets.lib.publish.describe import describe

    columns = load_policy().product(product.name).public_columns
    described = describe(product.name, columns)
    return dg.TableSchema(columns=[
        dg.TableColumn(c, (types or {}).get(c, "string" if c.endswith("_status") or c == "suppression" else "?"),
                       description=described.columns.get(c)) for c in (types or dict.fromkeys(columns))])


def published_lineage(product: Product, columns: list[str]) -> dg.TableColumnLineage:
    """Each published column comes from the candidate's column of the same name (protected, not transformed)."""
    source = candidate_key(product)
    return dg.TableColumnLineage(deps_by_column={
        c: [dg.TableColumnDep(asset_key=source, column_name=c)] for c in columns})


def run_check_results(context: dg.AssetExecutionContext) -> dict[str, list[dict]]:
    """Every check evaluated in this run (source, dbt and audit checks), keyed by the product it guards."""
    by_name: dict[str, dict] = {}
    # A re-execution continues its root run's release: the checks may have run in either.
    for run_id in dict.fromkeys([release_id(context), context.run.run_id]):
        records = context.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
        for record in records:
            data = record.event_log_entry.dagster_event.asset_check_evaluation_data
            name = f"{data.asset_key.to_user_string()}:{data.check_name}"
            by_name[name] = {"name": name, "passed": data.passed,
                             "severity": data.severity.value if data.severity else "ERROR",
                             "description": data.description or ""}
    checks = list(by_name.values())
    # Every product's provenance lists every check of the release: they gate publication together.
    return {p.name: checks for p in PRODUCTS}


def consume_acknowledgements(context: dg.AssetExecutionContext, paths) -> None:
    """The acknowledged retractions this release published are done: a later one needs a new acknowledgement."""
    from trust_assets.lib.audit.retractions import mark_honoured

    for run_id in dict.fromkeys([release_id(context), context.run.run_id]):
        for ack in mark_honoured(paths, run_id):
            context.log.info(f"retraction acknowledgement {ack} honoured by this release")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(published_key(p), deps=[candidate_key(p)], group_name="published", kinds={"delta"},
                     owners=["team:labour-market-trust"], description=f"{p.title}. {p.description} "
                     "Published for analysts after quality and disclosure checks; see docs/products.md.",
                     metadata={"grain": ", ".join(p.grain), "dagster/column_schema": published_columns(p)},
                     freshness_policy=product_freshness_policy())
        for p in PRODUCTS
    ],
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb_warehouse",
    name="published_products",
)
def published_products(context: dg.AssetExecutionContext, trust: TrustStorage, source_pins: SourcePins):
    """Copy each audited candidate's months into its published table in one commit, with provenance."""
    from trust_assets.defs.publish.steps import RELEASE_STEPS
    from trust_assets.lib.audit.disclosure.policy import load_policy
    from trust_assets.lib.evaluation.lineage.stages import PUBLISH_JOB, stage
    from trust_assets.lib.evaluation.lineage.transport import LineageEmitter
    from trust_assets.lib.publish.lineage import publication_outputs
    from trust_assets.lib.publish.release import publish_release, source_reads
    from trust_assets.lib.publish.releases import ReleaseContext, record_release

    paths = trust.paths()
    months = partition_months(context)
    pins = source_pins.pins()
    checks = run_check_results(context)
    with stage(LineageEmitter(paths), PUBLISH_JOB, context.run.run_id, context.job_name,
               inputs=source_reads(pins, months), ends_run=True) as step:
        results = publish_release(paths, months, release_id(context), pins, checks=checks, log=context.log.info)
        # Last commit: the release steps, then the manifest row that makes the release visible to readers as one
        # consistent set of versions.
        record_release(ReleaseContext(
            paths=paths, run_id=release_id(context), months=tuple(months),
            products={name: r.version for name, r in results.items()},
            pins={key: p.version for key, p in pins.items()},
            checks=tuple(next(iter(checks.values()), [])), log=context.log.info), RELEASE_STEPS)
        step.outputs = publication_outputs(paths, results, checks, load_policy().version)
        consume_acknowledgements(context, paths)
    for p in PRODUCTS:
        result = results[p.name]
        yield dg.MaterializeResult(
            asset_key=published_key(p),
            data_version=dg.DataVersion(result.content_hash[:16]),
            metadata={
                "delta_version": result.version,
                "committed": result.committed,
                "dagster/row_count": result.rows,
                "months": ", ".join(months),
                "content_hash": result.content_hash,
                "path": dg.MetadataValue.path(str(paths.published_product(p.name))),
                "source_versions": source_pins.summary(),
                "report": dg.MetadataValue.path(str(paths.reports / "evaluation.html")),
                "dagster/column_schema": published_columns(p, dict(result.columns)),
                "dagster/column_lineage": published_lineage(p, [name for name, _ in result.columns]),
            },
        )
