"""What one timed subprocess runs: ``python -m trust_assets.bench.worker {pipeline,floor,floor-shared,peer,steps} ARG``.

Each measurement is a fresh interpreter so peak memory is per run, imports are paid every time (as a scheduled
job pays them), and nothing is cached between runs. TRUST_HOME comes from the environment the bench sets. The
result is one ``BENCH-RESULT {json}`` line; the process then leaves with ``os._exit`` because deltalake can abort
an interpreter at exit after large Arrow reads.
"""

from __future__ import annotations

import json
import os
import sys

from trust_assets.bench.measure import RESULT_PREFIX
from trust_assets.lib.paths import TrustPaths


def pipeline(paths: TrustPaths, months: str) -> dict:
    """Run ``months`` (comma-separated ``YYYY-MM``) through Dagster, as ``trust run`` does."""
    from trust_assets.runs.execute import run_months

    outcomes = run_months(paths, months.split(","), echo=lambda *args, **kwargs: None)
    return {"ok": all(o.success for o in outcomes), "run_ids": [o.run_id for o in outcomes],
            "message": "; ".join(o.message for o in outcomes)}


def floor(paths: TrustPaths, month: str) -> dict:
    from trust_assets.bench.floor import floor_products

    return {"ok": True, "rows": {k: t.num_rows for k, t in floor_products(paths, month).items()}}


def floor_shared(paths: TrustPaths, month: str) -> dict:
    from trust_assets.bench.floor import floor_products

    return {"ok": True, "rows": {k: t.num_rows for k, t in floor_products(paths, month, shared=True).items()}}


def peer(paths: TrustPaths, month: str) -> dict:
    from trust_assets.bench.peer import peer_products

    return {"ok": True, "rows": {k: len(f) for k, f in peer_products(paths, month).items()}}


def dbt_node_seconds(paths: TrustPaths, run_id: str) -> dict[str, float]:
    """Seconds per dbt node (model, test, seed) of a run, from the run_results.json dbt wrote in the run's target
    folder (``<dbt_runs>/<run id[:8]>-<uuid>``, see defs/transform/assets.py); {} when there is none."""
    seconds: dict[str, float] = {}
    for results in sorted(paths.dbt_runs.glob(f"{run_id[:8]}-*/run_results.json")):
        for node in json.loads(results.read_text()).get("results") or []:
            seconds[node["unique_id"]] = float(node.get("execution_time") or 0.0)
    return seconds


def steps(paths: TrustPaths, run_id: str) -> dict:
    """Seconds per Dagster step of a finished run, from its STEP_SUCCESS events, and per dbt node (not timed)."""
    from dagster import DagsterEventType, DagsterInstance

    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    instance = DagsterInstance.get()
    seconds: dict[str, float] = {}
    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_SUCCESS):
        event = record.dagster_event
        if event is not None and event.step_key is not None:
            seconds[event.step_key] = event.step_success_data.duration_ms / 1000
    return {"ok": bool(seconds), "steps": seconds, "nodes": dbt_node_seconds(paths, run_id)}


KINDS = {"pipeline": pipeline, "floor": floor, "floor-shared": floor_shared, "peer": peer, "steps": steps}


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in KINDS:
        sys.stderr.write(f"usage: python -m trust_assets.bench.worker {{{','.join(KINDS)}}} ARG\n")
        os._exit(2)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        result = KINDS[argv[0]](TrustPaths.from_env(), argv[1])
    except Exception as exc:  # reported to the bench, which shows it with the log tail
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    sys.stderr.flush()
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0 if result.get("ok") else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
