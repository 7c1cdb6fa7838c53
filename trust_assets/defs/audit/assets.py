"""Release candidates: the marts after disclosure control, audited before anything is published.

Write–audit–publish: a Dagster blocking check does not stop the asset it checks from being written, so the
candidate and the published table are different assets. This step writes the candidates (kept for inspection
under trust/candidates/), then runs each product's Great Expectations suite and the independent disclosure
compliance check as blocking checks; the publish step runs only if all of them pass.
"""


import dagster as dg

from trust_assets.defs.partitions import monthly_partitions, partition_months, release_id
from trust_assets.defs.resources import SourcePins, TransformEngine, TrustStorage
from trust_assets.lib.registry.products import PRODUCTS, Product


def candidate_key(product: Product) -> dg.AssetKey:
    return dg.AssetKey(["candidates", product.name])


def mart_key(product: Product) -> dg.AssetKey:
    return dg.AssetKey(["warehouse", product.name])


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for product in PRODUCTS:
        specs.append(dg.AssetCheckSpec("expectations", asset=candidate_key(product), blocking=True,
                                       description=f"Great Expectations suite expectations/{product.name}.json: "
                                       "completeness, grain, ranges, month-on-month plausibility, disclosure form."))
        specs.append(dg.AssetCheckSpec("disclosure_compliance", asset=candidate_key(product), blocking=True,
                                       description="Independent re-check of every published cell against the "
                                       "disclosure policy (thresholds, rounding, pay rules, rates, secondary)."))
        specs.append(dg.AssetCheckSpec("differencing", asset=candidate_key(product), blocking=True,
                                       description="Every published count attacked together with the release "
                                       "ledger of all earlier releases: no cell may be pinned to one value by "
                                       "differencing versions (docs/quality.md)."))
        specs.append(dg.AssetCheckSpec("plausibility", asset=candidate_key(product), blocking=True,
                                       description="Coverage against the last published version and the sources "
                                       "(share of cells suppressed, people and businesses covered, share of source "
                                       "rows reaching the product), limits in policies/plausibility.yaml."))
        specs.append(dg.AssetCheckSpec("retractions", asset=candidate_key(product), blocking=True,
                                       description="No published cell of the release's months is dropped and no "
                                       "observed outcome becomes 'not yet observable', unless acknowledged "
                                       "(trust acknowledge)."))
    return specs


@dg.multi_asset(
    specs=[
        dg.AssetSpec(candidate_key(p), deps=[mart_key(p)], group_name="audit", kinds={"delta", "python"},
                     owners=["team:labour-market-trust"],
                     description=f"Release candidate of {p.title.lower()}: disclosure-controlled, awaiting audit. "
                     "Never read by analysts.")
        for p in PRODUCTS
    ],
    check_specs=_check_specs(),
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb_warehouse",
    name="release_candidates",
)
def release_candidates(context: dg.AssetExecutionContext, trust: TrustStorage, source_pins: SourcePins,
                       engine: TransformEngine):
    """Protect the whole release at once (linked margins tie products together), write candidates, audit them."""
    from trust_assets.lib.audit.candidates import build_release
    from trust_assets.lib.audit.checks import audit_release
    from trust_assets.lib.evaluation.lineage.stages import AUDIT_JOB, stage
    from trust_assets.lib.evaluation.lineage.transport import LineageEmitter
    from trust_assets.lib.publish.lineage import audit_inputs, candidate_outputs

    paths = trust.paths()
    months = partition_months(context)
    with stage(LineageEmitter(paths), AUDIT_JOB, context.run.run_id, context.job_name,
               datasets=audit_inputs(paths)) as step:
        release = build_release(paths, months, release_id(context), engine.engine(),
                                ledger_before=context.run.tags.get("trust/reproduce_release"))
        audit = audit_release(paths, release, months, release_id(context),
                              publishing="trust/reproduce" not in context.run.tags)
        step.datasets_out = candidate_outputs(paths, release.candidate_versions, audit.checks)
        if not audit.passed:
            message = "publication blocked by failed checks: " + " | ".join(audit.failures())
            context.log.error(message)
            step.block(message)
    for product in PRODUCTS:
        name = product.name
        for check in audit.checks[name]:
            yield dg.AssetCheckResult(asset_key=candidate_key(product), check_name=check.name, passed=check.passed,
                                      description=check.description, metadata={
                                          **check.metadata,
                                          **({"data_docs": dg.MetadataValue.path(str(audit.data_docs[name]))}
                                             if name in audit.data_docs else {})},
                                      severity=dg.AssetCheckSeverity.ERROR)
        yield dg.MaterializeResult(
            asset_key=candidate_key(product),
            metadata={
                "months": ", ".join(months),
                "dagster/row_count": release.published[name].shape[0],
                "suppressed_cells": sum(r["cells"] for r in release.suppressed if r["product"] == name),
                "perturbed_cells": int(release.protection.get(name, {}).get("count_cells_perturbed", 0)),
                "policy_version": release.policy_version,
                "candidate_version": release.candidate_versions[name],
                "path": dg.MetadataValue.path(str(paths.candidate(name))),
                "source_versions": source_pins.summary(),
                **({"quality_report": dg.MetadataValue.path(str(audit.data_docs[name]))}
                   if name in audit.data_docs else {}),
            },
        )
