"""Writing events: JSON lines under ``TrustPaths.lineage`` (the embedded default) and, when ``OPENLINEAGE_URL`` is
set at call time, an HTTP endpoint such as Marquez.

Usage from a pipeline step::

    emitter = LineageEmitter(paths)
    step = emitter.run_started("publish.local_labour_market_monthly", parent_run_id=context.run_id,
                               parent_job="monthly_products", inputs=[SourceRead("dwp/uc_claims", 12), ...])
    try:
        ...
        emitter.run_completed(step, outputs=[PublishedOutput("local_labour_market_monthly", 7, ...)])
    except Exception as exc:
        emitter.run_failed(step, exc)
        raise
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from trust_assets.lib.evaluation.lineage.events import build_event
from trust_assets.lib.evaluation.lineage.facets import PublishedOutput, SourceRead, StepRun
from trust_assets.lib.evaluation.lineage.validation import validate_event
from trust_assets.lib.paths import TrustPaths

log = logging.getLogger(__name__)
#: File the emitter appends to; readers take every ``*.jsonl`` under the lineage folder.
EVENTS_FILE = "openlineage.jsonl"


def _append_line(path: Path, line: str) -> None:
    """Append one event; the lock keeps lines whole when parallel Dagster steps write at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(line + "\n")
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _post(event: Mapping[str, Any], url: str) -> None:
    """Send to a Marquez-compatible endpoint through openlineage-python's HTTP transport."""
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    endpoint = os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
    config = HttpConfig.from_dict({"url": url, "endpoint": endpoint, "timeout": 5.0,
                                   "retry": {"total": 2, "backoff_factor": 0.2}})
    HttpTransport(config).emit(cast(Any, dict(event)))  # Serde serialises a plain dict as-is


class LineageEmitter:
    """Builds, validates and writes a step's START / COMPLETE / FAIL events."""

    def __init__(self, paths: TrustPaths) -> None:
        self.paths = paths

    @property
    def events_path(self) -> Path:
        return self.paths.lineage / EVENTS_FILE

    def emit(self, event: dict[str, Any]) -> dict[str, Any]:
        """Validate, append to the JSON lines file, then POST when ``OPENLINEAGE_URL`` is set.

        The file is the record the report reads, so it is written first; an unreachable HTTP endpoint logs a
        warning rather than failing a publication that has already committed.
        """
        validate_event(event)
        _append_line(self.events_path, json.dumps(event, sort_keys=True, separators=(",", ":")))
        url = os.environ.get("OPENLINEAGE_URL", "").strip()
        if url:
            try:
                _post(event, url)
            except Exception as exc:  # the JSON lines file already holds the event
                log.warning("OpenLineage HTTP emit to %s failed: %s", url, exc)
        return event

    def run_started(self, job: str, *, parent_run_id: str | None = None, parent_job: str | None = None,
                    inputs: Sequence[SourceRead] = (), run_id: str | None = None,
                    event_time: str | None = None, datasets: Sequence[Any] = ()) -> StepRun:
        from openlineage.client.uuid import generate_new_uuid

        step = StepRun(run_id=run_id or str(generate_new_uuid()), job=job, parent_run_id=parent_run_id,
                       parent_job=parent_job, inputs=tuple(inputs), datasets=tuple(datasets))
        self.emit(build_event(self.paths, step, "START", event_time=event_time))
        return step

    def run_completed(self, step: StepRun, *, outputs: Sequence[PublishedOutput] = (),
                      event_time: str | None = None, datasets_out: Sequence[Any] = ()) -> dict[str, Any]:
        return self.emit(build_event(self.paths, step, "COMPLETE", outputs=outputs, event_time=event_time,
                                     datasets_out=datasets_out))

    def run_failed(self, step: StepRun, error: BaseException | str, *,
                   event_time: str | None = None, datasets_out: Sequence[Any] = ()) -> dict[str, Any]:
        return self.emit(build_event(self.paths, step, "FAIL", error=error, event_time=event_time,
                                     datasets_out=datasets_out))
