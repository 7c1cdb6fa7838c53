"""What a deployment turns on: the monthly schedule, freshness policies per product, and run-failure alerts.

The schedule and the new-source-versions sensor (defs/sources/sensors.py) are two ways to start the same job; a
deployment usually runs the sensor and keeps the schedule as the backstop for a month the sensor missed. Both are
off until turned on in the UI (``trust ui``) or with ``dagster schedule start``. The alert sensor is on by
default: it only writes a record (and posts to ``TRUST_ALERT_WEBHOOK`` when set) when a run fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Any

import dagster as dg

from trust_assets.defs.resources import TrustStorage
from trust_assets.lib.registry.cadence import product_due_after_month_end, product_freshness_windows

WEBHOOK_ENV = "TRUST_ALERT_WEBHOOK"
ALERTS_FILE = "run_failures.jsonl"


def product_freshness_policy() -> dg.FreshnessPolicy:
    """Freshness of a published product from the departments' cadence (lib/registry/cadence.py)."""
    warn, fail = product_freshness_windows()
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)


#: Declarative automation observes the department tables once a day (05:00 UTC), before the schedule's hour.
OBSERVATION_CRON = "0 5 * * *"
OBSERVATION_SENSOR = "department_observation"


def department_observation_condition() -> dg.AutomationCondition:
    """Observe a department table once per day: record its Delta version, read from the log alone.

    The one AutomationCondition of the code location, and deliberately on the observable sources only. The
    release (pin → dbt → audit → publish) is one unit keyed by its run id, so it is started as a job, by the
    new-source-versions sensor or the schedule; conditions on the built assets would launch them asset by asset
    (Dagster's on_cron and eager request each asset in its own run) and redo months the sensor already built.
    An observation builds nothing: it keeps each table's data version current in the UI, so the assets that read
    a table show "upstream data changed" when a department committed a new version, sensor on or off.
    """
    tick: Any = dg.AutomationCondition.cron_tick_passed(OBSERVATION_CRON)  # dagster's generics trip mypy here
    return tick.since_last_handled()


def department_observation_sensor(department_tables: dg.AssetsDefinition) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the observation condition; off by default, like the schedule."""
    return dg.AutomationConditionSensorDefinition(
        OBSERVATION_SENSOR, target=dg.AssetSelection.assets(department_tables),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Observes every department table once a day (declarative automation: "
        f"cron_tick_passed('{OBSERVATION_CRON}')); builds nothing.")


def monthly_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Builds the month that just became due, on the day after the slowest department delivers (06:00 UTC).

    The month is last calendar month at the tick; when the department tables do not hold it yet the tick skips and
    says which months they hold (a month with no data is never run). Monthly partitions are dynamic
    (defs/partitions.py): the month is registered as a partition before its run is requested.
    """
    day = min(28, product_due_after_month_end().days + 1)

    @dg.schedule(job=job, cron_schedule=f"0 6 {day} * *", name="monthly_products_schedule",
                 default_status=dg.DefaultScheduleStatus.STOPPED,
                 description=f"Build last month's products on day {day} of each month, after every department's "
                 "delivery (the sensor usually builds it earlier, as soon as the data arrives).")
    def monthly_products_schedule(context: dg.ScheduleEvaluationContext, trust: TrustStorage
                                  ) -> dg.RunRequest | dg.SkipReason:
        from trust_assets.defs.partitions import register_months
        from trust_assets.lib.months import shift_month
        from trust_assets.lib.sources.available import source_months

        month = shift_month((context.scheduled_execution_time or dt.datetime.now(dt.UTC)).date(), -1)
        held = source_months(trust.paths())
        if month not in held:
            span = f"{held[0]}..{held[-1]}" if held else "no months"
            return dg.SkipReason(f"no source data for {month} yet (the department tables hold {span})")
        register_months(context.instance, [month])
        return dg.RunRequest(run_key=f"schedule:{month}", partition_key=month,
                             tags={"trust/trigger": "monthly_products_schedule"})

    return monthly_products_schedule


def alert_record(context: dg.RunFailureSensorContext) -> dict[str, Any]:
    """The facts someone on call needs: which run, which months, what failed (the cause first)."""
    run = context.dagster_run
    steps = [{"step": event.step_key, "error": cause_first(event.step_failure_data.error)}
             for event in context.get_step_failure_events()]
    return {"run_id": run.run_id, "job": run.job_name, "failed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "months": {k.split("/")[-1]: v for k, v in run.tags.items() if "partition" in k},
            "message": context.failure_event.message, "steps": steps}


def cause_first(error: Any) -> str:
    """A Dagster error chain as one line, the innermost cause first (Dagster wraps the user's exception)."""
    parts = []
    while error is not None:
        text = (error.message or "").strip()
        parts.append(text.splitlines()[0][:300] if text else str(error.cls_name))
        error = error.cause
    return " <- ".join(reversed(parts[-2:]))


def post_webhook(url: str, record: dict[str, Any]) -> str:
    import httpx

    try:
        response = httpx.post(url, json={"text": f"trust run {record['run_id']} failed", "alert": record},
                              timeout=10)
        return f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        return f"not delivered: {exc}"


@dg.run_failure_sensor(name="run_failure_alerts", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Writes an alert record for every failed run to trust/alerts/, and posts it to "
                       f"${WEBHOOK_ENV} when that is set.")
def run_failure_alerts(context: dg.RunFailureSensorContext, trust: TrustStorage) -> None:
    record = alert_record(context)
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if url:
        record["webhook"] = post_webhook(url, record)
    folder = trust.paths().alerts
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ALERTS_FILE, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
    context.log.info(f"alert recorded for run {record['run_id']}")
