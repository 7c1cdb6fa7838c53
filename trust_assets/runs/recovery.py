"""Runs recover by themselves: a killed run never blocks, or leaves a half release for, the next one.

A run killed with SIGKILL (or by the OOM killer, or a lost machine) cannot tell Dagster it stopped: its record stays
STARTED and it keeps the ``duckdb_warehouse`` pool slot, so every later run would wait for that slot forever. Before
each run, with the run lock held, ``recover`` therefore:

1. finds runs Dagster believes in progress whose process is gone (a run records ``trust/process`` = host, pid and
   the process start time, so a reused pid is not mistaken for it; runs launched from the UI are identified by the
   pid their run worker reports) and marks them failed, freeing their pool slots;
2. frees pool slots still claimed by runs that have finished;
3. completes an interrupted release (product commits without a manifest row): the remaining products are published
   from the interrupted run's own audited candidates, its release steps run, and its manifest row is committed;
   when that is impossible (a candidate was rewritten since, or a release step refuses), the products are restored
   to the latest complete release instead, so the next publish builds on released data only.

Every action is reported on the run's output; a slot held by a run that is still alive is named, with what the new
run is waiting for.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from trust_assets.lib.paths import TrustPaths

if TYPE_CHECKING:
    from dagster import DagsterInstance, DagsterRun

Echo = Callable[[str], None]
PROCESS_TAG = "trust/process"
POOL = "duckdb_warehouse"


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), or '' if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]


def process_identity(pid: int | None = None) -> str:
    """``host:pid:start`` of a process (this one by default): what a run records so its liveness can be checked."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def process_alive(identity: str) -> bool | None:
    """Whether the process an identity names still runs; None when it ran on another host (cannot tell)."""
    host, _, rest = identity.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this process holds the run lock and has not started the run it is asked about
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not start or _start_ticks(pid) == start


def run_process(instance: DagsterInstance, run: DagsterRun) -> str | None:
    """The process identity of a run: its ``trust/process`` tag, or the pid its run worker reported (UI runs)."""
    from dagster import DagsterEventType

    if PROCESS_TAG in run.tags:
        return run.tags[PROCESS_TAG]
    records = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=20).records
    for record in records:
        event = record.event_log_entry.dagster_event
        metadata = event.engine_event_data.metadata if event and event.engine_event_data else {}
        pid = metadata.get("pid")
        if pid is not None:
            return f"{socket.gethostname()}:{pid.value}:"
    return None


def fail_dead_runs(instance: DagsterInstance, echo: Echo) -> list[str]:
    """Mark in-progress runs whose process is gone as failed and free their pool slots; returns live run ids."""
    from dagster import DagsterRunStatus, RunsFilter

    live = []
    in_progress = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    for run in instance.get_runs(RunsFilter(statuses=in_progress)):
        identity = run_process(instance, run)
        alive = process_alive(identity) if identity else None
        if alive is False:
            message = (f"the process of run {run.run_id} ({identity}) is gone (killed or crashed): marked failed "
                       f"by the next run's recovery; its pool slots were freed")
            instance.report_run_failed(run, message)
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            echo(f"[recover] run {run.run_id} was {run.status.value} but its process ({identity}) is gone: "
                 "marked it failed and freed its pool slot")
        else:
            live.append(run.run_id)
            who = identity or "no recorded process (launched from the UI?)"
            echo(f"[recover] run {run.run_id} is {run.status.value} and may still be running ({who}); "
                 "it waits for the run lock this run holds (or runs on another host)")
    return live


def free_stale_slots(instance: DagsterInstance, echo: Echo) -> None:
    """Free pool slots claimed by runs that have finished or no longer exist."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    for claim in storage.get_concurrency_info(POOL).claimed_slots:
        run = instance.get_run_by_id(claim.run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(claim.run_id)
            echo(f"[recover] freed the {POOL} slot still claimed by finished run {claim.run_id}")


def recover(paths: TrustPaths, instance: DagsterInstance, echo: Echo) -> None:
    """Everything a run does before it starts so that earlier failures cannot block or mix with it."""
    from trust_assets.defs.publish.steps import RELEASE_STEPS
    from trust_assets.lib.publish.release import complete_interrupted_release

    live = fail_dead_runs(instance, echo)
    free_stale_slots(instance, echo)
    if live:
        echo("[recover] not touching the published release while another run may be publishing")
        return
    message = complete_interrupted_release(paths, RELEASE_STEPS, log=lambda line: echo(f"[recover] {line}"))
    if message:
        echo(f"[recover] {message}")
