"""Lineage for the whole flow: the Dagster run as the parent job, each stage (pin, dbt models, audit, publish) as a
child job with START and COMPLETE, or FAIL with the error, so an evaluator sees failed runs and blocked releases.

The run's own START is written by whichever stage starts first in it (a re-execution may start at any stage) and
its end by the stage that ends it: publication completes it, any failure or block fails it. Marker files beside the
events (``lineage/runs/``) make each of those exactly once per run, whichever process writes them.

Usage in a Dagster step::

    with stage(LineageEmitter(paths), "labour_market_trust.audit", run_id, job_name, datasets=[...]) as s:
        ...
        s.outputs = [...]               # written on COMPLETE
        s.block("checks failed: ...")   # FAIL without an exception: a blocking check stopped the release
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from trust_assets.lib.evaluation.lineage.events import _as_uuid
from trust_assets.lib.evaluation.lineage.facets import PublishedOutput, SourceRead, StepRun
from trust_assets.lib.evaluation.lineage.transport import LineageEmitter

PIN_JOB = "labour_market_trust.pin"
DBT_JOB = "labour_market_trust.dbt"
DBT_MODEL_JOB = "labour_market_trust.dbt.{model}"
AUDIT_JOB = "labour_market_trust.audit"
PUBLISH_JOB = "labour_market_trust.publish"


def _mark(emitter: LineageEmitter, run_id: str, what: str) -> bool:
    """True the first time ``what`` is marked for this run (an exclusive create is atomic across processes)."""
    folder = emitter.paths.lineage / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(folder / f"{_as_uuid(run_id)}.{what}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def run_started(emitter: LineageEmitter, run_id: str, job: str) -> None:
    """START of the Dagster run itself (once per run)."""
    if _mark(emitter, run_id, "started"):
        emitter.run_started(job, run_id=_as_uuid(run_id))


def run_ended(emitter: LineageEmitter, run_id: str, job: str, error: BaseException | str | None = None) -> bool:
    """COMPLETE or FAIL of the Dagster run (once per run); False when its end was already written."""
    run_started(emitter, run_id, job)
    if not _mark(emitter, run_id, "ended"):
        return False
    step = StepRun(run_id=_as_uuid(run_id), job=job)
    if error is None:
        emitter.run_completed(step)
    else:
        emitter.run_failed(step, error)
    return True


@dataclass
class Stage:
    """What a stage's body hands back: its outputs, or why it blocked the release."""

    step: StepRun
    outputs: Sequence[PublishedOutput] = ()
    datasets_out: Sequence[Any] = ()
    blocked: str | None = None
    #: what to say on FAIL instead of the exception's own text (e.g. which dbt tests failed)
    failure: str | None = None

    def block(self, message: str) -> None:
        self.blocked = message


@contextmanager
def stage(emitter: LineageEmitter, job: str, parent_run_id: str, parent_job: str, *,
          inputs: Sequence[SourceRead] = (), datasets: Sequence[Any] = (), ends_run: bool = False
          ) -> Iterator[Stage]:
    """START now; COMPLETE on success, FAIL (and the run's FAIL) on an exception or a block.

    ``ends_run``: this stage's success completes the Dagster run (publication).
    """
    run_started(emitter, parent_run_id, parent_job)
    handle = Stage(emitter.run_started(job, parent_run_id=parent_run_id, parent_job=parent_job, inputs=inputs,
                                       datasets=datasets))
    try:
        yield handle
    except BaseException as exc:
        error: BaseException | str = exc if handle.failure is None else handle.failure
        emitter.run_failed(handle.step, error, datasets_out=handle.datasets_out)
        cause = handle.failure or f"{type(exc).__name__}: {exc}"
        run_ended(emitter, parent_run_id, parent_job, f"{job} failed: {cause}")
        raise
    if handle.blocked is not None:
        emitter.run_failed(handle.step, handle.blocked, datasets_out=handle.datasets_out)
        run_ended(emitter, parent_run_id, parent_job, f"{job}: {handle.blocked}")
        return
    emitter.run_completed(handle.step, outputs=handle.outputs, datasets_out=handle.datasets_out)
    if ends_run:
        run_ended(emitter, parent_run_id, parent_job)
