"""Department tables as observable sources, and the run's pinned view of them.

The trust never materialises a department table: it observes it (data version = Delta table version) and, per
run, pins one version of each and checks its structure before any model reads it.
"""


import dagster as dg

from trust_assets.defs.automation import department_observation_condition
from trust_assets.defs.partitions import monthly_partitions, partition_months
from trust_assets.defs.resources import SourcePins, TrustStorage
from trust_assets.lib.registry.sources import DEPARTMENTS, SOURCE_TABLES, SourceTable
from trust_assets.lib.sources.delta_pins import SourceError, SourceSchemaError, latest_version, pin
from trust_assets.lib.sources.volume import MONTHLY_STOCK_TABLES

PINNED_SOURCES = dg.AssetKey(["trust", "pinned_sources"])


def source_key(table: SourceTable) -> dg.AssetKey:
    return dg.AssetKey([table.dept, table.table])


def column_schema(table: SourceTable) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, str(c.type), description=c.description)
                                   for c in table.columns])


def source_spec(table: SourceTable) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=source_key(table),
        description=f"{table.title}. {table.description} Owned and stored by {DEPARTMENTS[table.dept]}; "
        "read in place by the trust under a data sharing agreement.",
        group_name=table.dept,
        owners=[table.owner],
        kinds={"delta", table.dept},
        metadata={"dagster/column_schema": column_schema(table), "trust/source_key": table.key},
        automation_condition=department_observation_condition(),
    )


@dg.multi_observable_source_asset(specs=[source_spec(t) for t in SOURCE_TABLES], can_subset=True,
                                  name="department_tables")
def department_tables(context: dg.AssetExecutionContext, trust: TrustStorage):
    """Observe each department table's Delta version without reading a data file."""
    paths = trust.paths()
    for table in SOURCE_TABLES:
        if source_key(table) not in context.selected_asset_keys:
            continue
        uri = paths.source_table(table.dept, table.table)
        metadata: dict = {"uri": dg.MetadataValue.path(str(uri)),
                          "report": dg.MetadataValue.path(str(paths.reports / "evaluation.html"))}
        try:
            pinned = pin(table, str(uri))  # reads the Delta log only: version, files, sizes, row counts
            version = pinned.version
            metadata |= {"dagster/row_count": pinned.row_count, "size_bytes": pinned.size_bytes,
                         "files": len(pinned.files)}
        except SourceSchemaError as exc:  # still observed; the run's blocking schema check reports it
            version = latest_version(str(uri))
            metadata["problem"] = str(exc)
        yield dg.ObserveResult(asset_key=source_key(table), data_version=dg.DataVersion(str(version)),
                               metadata={"delta_version": version, **metadata})


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for table in SOURCE_TABLES:
        name = table.key.replace("/", "__")
        specs.append(dg.AssetCheckSpec(f"{name}__schema", asset=PINNED_SOURCES, blocking=True,
                                       description=f"{table.key} has exactly its agreed columns and types."))
        specs.append(dg.AssetCheckSpec(f"{name}__volume", asset=PINNED_SOURCES, blocking=True,
                                       description=f"{table.key} has rows for every month the run reads (built "
                                       "months and, for payroll, the outcome cohorts' follow-up months) and no "
                                       "month collapsed against the month before."))
        if table.key in MONTHLY_STOCK_TABLES:
            specs.append(dg.AssetCheckSpec(f"{name}__retractions", asset=PINNED_SOURCES, blocking=True,
                                           description=f"No month of {table.key} that the last release read is "
                                           "gone or shrunk, unless an operator acknowledged it (trust acknowledge)."))
    return specs


@dg.multi_asset(
    specs=[dg.AssetSpec(PINNED_SOURCES, deps=[source_key(t) for t in SOURCE_TABLES], group_name="sources",
                        description="The department table versions this run reads, checked for structure and "
                        "volume before any model runs. Holds no rows: only versions, file lists and counts.",
                        kinds={"delta", "python"}, owners=["team:labour-market-trust"])],
    check_specs=_check_specs(),
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="pinned_sources",
)
def pinned_sources(context: dg.AssetExecutionContext, source_pins: SourcePins):
    """Pin every source for this run and check it; a failing check stops the run before dbt."""
    from dataclasses import replace

    from trust_assets.lib.audit.retractions import acknowledged_months
    from trust_assets.lib.evaluation.lineage.stages import PIN_JOB, stage
    from trust_assets.lib.evaluation.lineage.transport import LineageEmitter
    from trust_assets.lib.publish.release import source_reads
    from trust_assets.lib.registry.products import follow_up_months_read
    from trust_assets.lib.sources.volume import check_volume

    months = partition_months(context)
    paths = source_pins.paths()
    pins = {}
    with stage(LineageEmitter(paths), PIN_JOB, context.run.run_id, context.job_name) as step:
        for table in SOURCE_TABLES:
            name = table.key.replace("/", "__")
            try:
                pins[table.key] = source_pins.pin(table)
            except SourceSchemaError as exc:
                yield dg.AssetCheckResult(check_name=f"{name}__schema", passed=False, asset_key=PINNED_SOURCES,
                                          description=str(exc), metadata={"error": str(exc)})
                raise dg.Failure(str(exc)) from exc
            except SourceError as exc:
                raise dg.Failure(f"cannot read {table.key} in place at "
                                 f"{paths.source_table(table.dept, table.table)}: {exc}") from exc
        step.step = replace(step.step, inputs=tuple(source_reads(pins, months)))
        # Retractions first: a month the department removed since the last release is named as such (and can be
        # acknowledged), so the volume check leaves removed follow-up months to it; the outcomes read as unobservable.
        removed: dict[str, set[str]] = {}
        yield from retraction_checks(context, source_pins, pins, removed)
        failed = []
        for table in SOURCE_TABLES:
            name = table.key.replace("/", "__")
            pin = pins[table.key]
            yield dg.AssetCheckResult(check_name=f"{name}__schema", passed=True, asset_key=PINNED_SOURCES,
                                      metadata={"version": pin.version, "columns": len(pin.columns)})
            # a follow-up month the department removed is judged by the retraction check above; one an operator
            # acknowledged as withdrawn (trust acknowledge, in an earlier release too) is known to be gone
            gone = removed.get(table.key, set()) | acknowledged_months(paths, table.key)
            follow_ups = [m for m in follow_up_months_read(table.key, months) if m not in gone]
            volume = check_volume(table, pin, months, follow_ups)
            if not volume.passed:
                failed.append(f"{name}__volume: {volume.description}")
            yield dg.AssetCheckResult(check_name=f"{name}__volume", passed=volume.passed, asset_key=PINNED_SOURCES,
                                      description=volume.description, metadata={"detail": volume.metadata})
        if failed:
            step.block("run stopped by failed source checks: " + " | ".join(failed))
    context.log.info("pinned " + ", ".join(f"{k}@v{p.version}" for k, p in pins.items()) + f" for {months}")
    yield dg.MaterializeResult(
        asset_key=PINNED_SOURCES,
        metadata={
            "months": ", ".join(months),
            "source_versions": {k: p.version for k, p in pins.items()},
            "files_read_in_place": sum(len(p.files) for p in pins.values()),
            "bytes_in_place": sum(p.size_bytes for p in pins.values()),
            "source_rows": sum(p.row_count for p in pins.values()),
        },
    )


def retraction_checks(context: dg.AssetExecutionContext, source_pins: SourcePins, pins: dict,
                      removed: dict[str, set[str]]):
    """Each monthly source against the version the last release read: a month gone or shrunk blocks the run.

    Fills ``removed`` with the months each source no longer holds (blocking or acknowledged).
    """
    from trust_assets.lib.audit.plausibility import load_plausibility
    from trust_assets.lib.audit.retractions import judge, source_retractions, summary
    from trust_assets.lib.publish.release import last_release_sources
    from trust_assets.lib.sources.volume import all_month_row_counts

    paths = source_pins.paths()
    # a reproduction pins old versions on purpose and publishes nothing: there is nothing to retract
    baseline = {} if "trust/reproduce" in context.run.tags else (last_release_sources(paths) or {})
    max_loss = load_plausibility().max_month_row_loss
    for table in SOURCE_TABLES:
        if table.key not in MONTHLY_STOCK_TABLES:
            continue
        check = f"{table.key.replace('/', '__')}__retractions"
        current = pins[table.key]
        old_version = baseline.get(table.key)
        found = []
        if old_version is not None and old_version != current.version:
            try:
                before = all_month_row_counts(source_pins.pin_at(table, old_version))
            except Exception as exc:  # e.g. vacuumed away, or a share that serves no history: say so, do not guess
                context.log.warning(f"cannot read {table.key} v{old_version} (last release) to judge retractions: "
                                    f"{exc}")
                before = {}
            found = source_retractions(table.key, before, all_month_row_counts(current), max_loss,
                                       (old_version, current.version))
        removed[table.key] = {r.month for r in found if r.kind == "month_removed"}
        blocking, acknowledged = judge(paths, context.run.run_id, check, found)
        yield dg.AssetCheckResult(
            check_name=check, passed=not blocking, asset_key=PINNED_SOURCES,
            description=summary(blocking, acknowledged, f"{table.key} months"),
            metadata={"baseline_version": old_version if old_version is not None else "none",
                      "version": current.version, "retractions": [r.as_dict() for r in found[:20]],
                      "acknowledged": [a["id"] for _, a in acknowledged]})
