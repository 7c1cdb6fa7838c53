"""What ``trust run`` shows while a run goes: one line per stage, a progress bar for dbt, a summary at the end.

Dagster's and dbt's own output is written to the run's log file instead (``-v`` shows it on the console). The
lines come from the run's event log, read from a thread while the run executes in process: the same records the
UI shows, so the console and the UI never disagree about what happened. No colour codes are written unless the
output is a terminal.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import DagsterInstance

#: Stages of the monthly job by the op (step) that runs them, in order, with the words the console uses.
STAGES = {"pinned_sources": "pin sources", "dbt_models": "dbt build", "release_candidates": "audit",
          "published_products": "publish"}
POLL_SECONDS = 0.5


@dataclass
class StageState:
    label: str
    started: float | None = None
    seconds: float | None = None
    failed: bool = False
    assets: int = 0
    checks_passed: int = 0
    checks_failed: int = 0


@dataclass
class RunSummary:
    """What a finished run did: stage timings, checks, and each published product's version and rows."""

    stages: dict[str, StageState] = field(default_factory=dict)
    published: dict[str, tuple[int, int]] = field(default_factory=dict)  # product -> (delta version, rows)

    @property
    def checks(self) -> tuple[int, int]:
        return (sum(s.checks_passed for s in self.stages.values()), sum(s.checks_failed for s in self.stages.values()))


def stage_of(step_key: str | None) -> str | None:
    return next((op for op in STAGES if step_key and step_key.split(".")[0].endswith(op)), None)


class RunProgress:
    """Follows one run's event log (``run_id``) and writes progress to ``out`` until stopped."""

    def __init__(self, instance: DagsterInstance, run_id: str, out: IO[str], *, total_models: int = 0,
                 prefix: str = "") -> None:
        self.instance, self.run_id, self.out, self.prefix = instance, run_id, out, prefix
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.total_models = total_models
        self.summary = RunSummary({op: StageState(label) for op, label in STAGES.items()})
        self._cursor: str | None = None
        self._stop = threading.Event()
        self._bar_shown = False

    def _write(self, line: str) -> None:
        if self._bar_shown:
            self.out.write("\r\033[K")
            self._bar_shown = False
        self.out.write(f"{self.prefix}{line}\n")
        self.out.flush()

    def _bar(self, state: StageState) -> None:
        """A redrawn bar for the long dbt step (terminals only; redirected output gets the stage lines)."""
        if not self.tty or not self.total_models:
            return
        done = min(state.assets, self.total_models)
        width = 30
        filled = int(width * done / self.total_models)
        self.out.write(f"\r\033[K{self.prefix}  {state.label} [{'#' * filled}{'.' * (width - filled)}] "
                       f"{done}/{self.total_models} models, {state.checks_passed + state.checks_failed} tests")
        self.out.flush()
        self._bar_shown = True

    def poll(self) -> None:
        """Read the run's new events and report them (also called once more after the run ends)."""
        from dagster import DagsterEventType as T

        wanted = {T.STEP_START, T.STEP_SUCCESS, T.STEP_FAILURE, T.ASSET_MATERIALIZATION, T.ASSET_CHECK_EVALUATION}
        while True:
            try:
                conn = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=wanted, limit=500)
            except Exception:  # the run's storage may not exist yet in its first instant
                return
            for record in conn.records:
                self._handle(record.event_log_entry)
            self._cursor = conn.cursor
            if not conn.has_more:
                return

    def _handle(self, entry: Any) -> None:
        event = entry.dagster_event
        op = stage_of(event.step_key if event else None)
        if event is None or op is None:
            return
        state, kind = self.summary.stages[op], event.event_type_value
        if kind == "STEP_START":
            state.started = entry.timestamp
            self._write(f"{state.label} ...")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            state.seconds = entry.timestamp - (state.started or entry.timestamp)
            state.failed = kind == "STEP_FAILURE"
            checks = f", {state.checks_passed} checks passed" if state.checks_passed else ""
            failed = f", {state.checks_failed} failed" if state.checks_failed else ""
            self._write(f"{state.label} {'FAILED' if state.failed else 'done'} in {state.seconds:.0f} s "
                        f"({state.assets} assets{checks}{failed})")
        elif kind == "ASSET_MATERIALIZATION":
            state.assets += 1
            self._record_publication(event)
            self._bar(state)
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.asset_check_evaluation_data
            blocking = data.severity is None or data.severity.value == "ERROR"
            if data.passed or not blocking:
                state.checks_passed += 1
            else:
                state.checks_failed += 1
            self._bar(state)

    def _record_publication(self, event: Any) -> None:
        mat = event.event_specific_data.materialization
        if mat.asset_key.path[0] != "published":
            return
        meta = mat.metadata
        version, rows = meta.get("delta_version"), meta.get("dagster/row_count")
        self.summary.published[mat.asset_key.path[-1]] = (int(getattr(version, "value", version) or 0),
                                                          int(getattr(rows, "value", rows) or 0))

    def _follow(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.poll()

    @contextlib.contextmanager
    def following(self) -> Iterator[RunProgress]:
        thread = threading.Thread(target=self._follow, name=f"progress-{self.run_id[:8]}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=10)
            self.poll()


@contextlib.contextmanager
def captured_output(log_path, quiet: bool) -> Iterator[IO[str]]:
    """While quiet, send stdout (dbt's re-emitted log lines) to ``log_path``; yields the console to write to."""
    console = sys.stdout
    if not quiet:
        yield console
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        yield console


def summary_lines(summary: RunSummary, seconds: float) -> list[str]:
    passed, failed = summary.checks
    lines = [f"{passed} checks passed" + (f", {failed} failed" if failed else "") + f"; {seconds:.0f} s"]
    for product, (version, rows) in sorted(summary.published.items()):
        lines.append(f"published {product} v{version} ({rows:,} rows)")
    return lines


def now() -> float:
    return time.monotonic()
