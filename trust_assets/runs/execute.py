"""Run the pipeline through Dagster, in process, on the trust's persistent instance: the job the UI launches.

Runs go to Dagster's instance under ``$TRUST_HOME/dagster``, so what ``trust run`` did is visible in the UI
afterwards (``trust ui``). The job runs in process: Dagster's multiprocess executor costs seconds per step here,
and DuckDB's own parallelism is where the cores go.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trust_assets.lib.months import contiguous_blocks
from trust_assets.lib.paths import TrustPaths
from trust_assets.runs.instance import prepare_instance
from trust_assets.runs.lock import run_lock

if TYPE_CHECKING:
    from dagster import DagsterInstance

Echo = Callable[[str], None]


class RunError(Exception):
    """A run could not start or did not succeed; the message says why in a data engineer's words."""


class RunStopped(RunError):
    """The run was stopped by SIGINT or SIGTERM; its Dagster run is marked failed and its slot freed."""


def _stopped_message(instance: DagsterInstance, block: list[str]) -> str:
    """End the interrupted Dagster run (if Dagster has not) and say what state it left."""
    from dagster import DagsterRunStatus, RunsFilter

    from trust_assets.runs.recovery import PROCESS_TAG, process_identity

    mine = instance.get_runs(RunsFilter(tags={PROCESS_TAG: process_identity()},
                                        statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
                                                  DagsterRunStatus.CANCELING]))
    for run in mine:
        instance.report_run_failed(run, "stopped by a signal (SIGINT/SIGTERM)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    ids = ", ".join(r.run_id for r in mine) or "(not started)"
    return (f"stopped by signal during {block[0]}..{block[-1]}: run {ids} marked failed; the published release is "
            "unchanged or is completed by the next `trust run`")


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    months: list[str]
    success: bool
    message: str


def observe_sources(instance: DagsterInstance) -> None:
    """Record each department table's current Delta version as an observation (what the UI shows as fresh)."""
    from trust_assets.definitions import defs
    from trust_assets.defs.jobs import OBSERVE_JOB

    result = defs().resolve_job_def(OBSERVE_JOB).execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    if not result.success:
        raise RunError("could not observe the department tables: " + failure_message(instance, result.run_id))


def quiet_run_config(versions: dict[str, int] | None, log_level: str, share_profile: str = "") -> dict[str, Any]:
    """Run config for a pinned run; the console logger shows ``log_level`` and up (the UI shows everything)."""
    pins = {"versions": dict(versions or {}), "share_profile": share_profile}
    return {"resources": {"source_pins": {"config": pins}},
            "loggers": {"console": {"config": {"log_level": log_level}}}}


def run_months(paths: TrustPaths, months: list[str], versions: dict[str, int] | None = None, *,
               tags: dict[str, str] | None = None, echo: Echo = print, log_level: str = "WARNING",
               share_profile: str = "", quiet: bool = False) -> list[RunOutcome]:
    """Run the monthly job once per contiguous block of months; returns one outcome per Dagster run.

    ``quiet`` is the console of ``trust run`` without ``-v``: a line per stage and a summary, Dagster's and dbt's
    output in the run's log file under ``trust/logs/``, and no library warnings.
    """
    from trust_assets.defs.partitions import register_months
    from trust_assets.runs.recovery import recover

    instance = prepare_instance(paths)
    with run_lock(paths, echo), stop_on_sigterm(), warnings_hidden(quiet):
        recover(paths, instance, echo)
        register_months(instance, months)  # a month run from the command line is a partition the UI shows
        if not share_profile:  # observation reads the Delta logs directly; a share-only trust cannot
            observe_sources(instance)
        return [_run_block(paths, instance, block, versions, tags, echo, "CRITICAL" if quiet else log_level,
                           share_profile, quiet)
                for block in contiguous_blocks(months)]


_SIGNALLED = threading.Event()  # set by SIGTERM during a run (see stop_on_sigterm)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM stops a run the way Ctrl-C does (Dagster then ends the run and dbt cleanly), in the main thread."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def stopping(signum: int, frame: object) -> None:
        # Dagster turns the interrupt into a failed step and returns normally: remember it was a signal.
        _SIGNALLED.set()
        raise KeyboardInterrupt

    _SIGNALLED.clear()
    signal.signal(signal.SIGTERM, stopping)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def warnings_hidden(quiet: bool) -> Iterator[None]:
    """Dagster's beta and preview warnings are for the people who write the definitions, not for a run's user."""
    if not quiet:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _run_block(paths: TrustPaths, instance: DagsterInstance, block: list[str], versions: dict[str, int] | None,
               tags: dict[str, str] | None, echo: Echo, log_level: str, share_profile: str,
               quiet: bool) -> RunOutcome:
    from trust_assets.definitions import defs
    from trust_assets.defs.jobs import MONTHLY_JOB
    from trust_assets.defs.partitions import partition_range_tags
    from trust_assets.runs.progress import RunProgress, captured_output, now, summary_lines
    from trust_assets.runs.recovery import PROCESS_TAG, process_identity

    job = defs().resolve_job_def(MONTHLY_JOB)
    run_id = str(uuid.uuid4())  # Dagster's run ids are uuid4s; known up front for the log and progress
    log_path = paths.run_logs / f"{run_id}.log"
    echo(f"[run] {block[0]}..{block[-1]}: pin sources, dbt build, audit, publish (run {run_id})")
    run_tags = {**partition_range_tags(block), **(tags or {}), PROCESS_TAG: process_identity()}
    began = now()
    try:
        with captured_output(log_path, quiet) as console:
            progress = RunProgress(instance, run_id, console, total_models=_dbt_model_count(), prefix="[run]   ")
            with progress.following() if quiet else contextlib.nullcontext():
                result = job.execute_in_process(
                    instance=instance, run_config=quiet_run_config(versions, log_level, share_profile),
                    run_id=run_id, tags=run_tags, raise_on_error=False)
    except KeyboardInterrupt:
        raise RunStopped(_stopped_message(instance, block)) from None
    if not result.success and (_SIGNALLED.is_set() or was_interrupted(instance, result.run_id)):
        # Dagster turned the signal into a failed step and returned: still a stop, not a failure.
        raise RunStopped(_stopped_message(instance, block))
    message = "succeeded" if result.success else failure_message(instance, result.run_id)
    echo(f"[run] {block[0]}..{block[-1]}: run {result.run_id} {message}")
    if quiet:
        for line in summary_lines(progress.summary, now() - began):
            echo(f"[run]   {line}")
        if not result.success:
            echo(f"[run]   Dagster's and dbt's output: {log_path}")
    return RunOutcome(result.run_id, block, result.success, message)


def _dbt_model_count() -> int:
    """How many dbt models a run builds (the progress bar's total), from the prepared manifest."""
    import json

    from trust_assets.lib.paths import DBT_PROJECT_DIR

    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return 0
    nodes = json.loads(manifest.read_text()).get("nodes", {}).values()
    return sum(1 for n in nodes if n.get("resource_type") in ("model", "seed"))


#: Exception classes Dagster records on a step (or run) that a signal stopped: SIGINT/SIGTERM arrive as a
#: KeyboardInterrupt, or as Dagster's own DagsterExecutionInterruptedError where it captures interrupts.
INTERRUPT_ERRORS = frozenset({"DagsterExecutionInterruptedError", "KeyboardInterrupt"})


def _error_classes(error: Any, depth: int = 0) -> Iterator[str]:
    """Class names of a SerializableErrorInfo and of everything it was raised from or during (cause, context)."""
    if error is None or depth > 20:
        return
    if error.cls_name:
        yield error.cls_name
    yield from _error_classes(error.cause, depth + 1)
    yield from _error_classes(error.context, depth + 1)


def was_interrupted(instance: DagsterInstance, run_id: str) -> bool:
    """Whether a failed run was stopped by a signal, from its failure events' structure, not their text: a step
    failure whose error source is Dagster's INTERRUPT, or a step or run failure whose error (or its cause or
    context) is one of ``INTERRUPT_ERRORS``."""
    from dagster import DagsterEventType
    from dagster._core.execution.plan.objects import ErrorSource

    kinds = {DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
    for record in instance.all_logs(run_id, of_type=kinds):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            if data.error_source == ErrorSource.INTERRUPT:
                return True
            error = data.error
        else:
            error = event.job_failure_data.error if event.job_failure_data else None
        if not INTERRUPT_ERRORS.isdisjoint(_error_classes(error)):
            return True
    return False


def failure_message(instance: DagsterInstance, run_id: str) -> str:
    """The errors and failed checks of a run, in words a data engineer can act on."""
    from dagster import DagsterEventType

    from trust_assets.defs.automation import cause_first
    from trust_assets.lib.memory import explain_memory_error

    lines = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_FAILURE:
            # Dagster wraps the user's exception: the innermost cause says what went wrong, so it comes first.
            lines.append(f"step {event.step_key} failed: " + cause_first(event.step_failure_data.error))
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.asset_check_evaluation_data
            if not data.passed:
                blocking = data.severity is None or data.severity.value == "ERROR"
                desc = " ".join((data.description or "").split())
                lines.append(f"check {data.asset_key.to_user_string()}:{data.check_name} "
                             f"{'failed' if blocking else 'warned'} {desc}".strip())
    hint = next((h for h in map(explain_memory_error, lines) if h), None)  # which setting bounded the run
    lines = lines or ["see the Dagster UI for this run"]
    return "failed:\n  " + "\n  ".join([_clip(line) for line in lines] + ([hint] if hint else []))


def _clip(text: str, limit: int = 600) -> str:
    """Keep messages readable: a dbt failure embeds the whole command with every pinned file path."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
