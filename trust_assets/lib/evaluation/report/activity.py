"""What happened around the publications: failed runs and blocked releases (from the OpenLineage events), what each
recipient actually received (from the access audit's ``bytes_sent``), and which versions brought new source data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trust_assets.lib.evaluation.report.data import ProductVersion, int_or_none, is_denied

#: The Dagster job whose runs the stages belong to (the parent job of every stage event).
RUN_JOB = "monthly_products"
#: Words the stages use when a blocking check stopped the release (lineage.stages ``block``).
BLOCKED_WORDS = ("blocked by failed checks", "stopped by failed source checks", "dbt build failed")


@dataclass(frozen=True)
class FailedRun:
    run_id: str
    time: str
    stage: str
    cause: str

    @property
    def blocked(self) -> bool:
        """A blocking check stopped the release (as opposed to an error)."""
        return any(word in self.cause for word in BLOCKED_WORDS)


def _message(event: Mapping[str, Any]) -> str:
    return str(((event.get("run") or {}).get("facets") or {}).get("errorMessage", {}).get("message", ""))


def failed_runs(events: Sequence[Mapping[str, Any]]) -> list[FailedRun]:
    """Every Dagster run that ended in FAIL, newest first, with the stage that failed and its cause."""
    stage_fail: dict[str, Mapping[str, Any]] = {}
    for event in events:
        parent = ((event.get("run") or {}).get("facets") or {}).get("parent")
        if event.get("eventType") == "FAIL" and parent and parent.get("job", {}).get("name") == RUN_JOB:
            stage_fail.setdefault(str(parent["run"]["runId"]), event)  # the first stage to fail is the cause
    out = []
    for event in events:
        if event.get("eventType") != "FAIL" or (event.get("job") or {}).get("name") != RUN_JOB:
            continue
        run_id = str(event["run"]["runId"])
        stage = stage_fail.get(run_id)
        out.append(FailedRun(run_id=run_id, time=str(event.get("eventTime", "")),
                             stage=str((stage or {}).get("job", {}).get("name", "")).rsplit(".", 1)[-1] or "run",
                             cause=_message(stage) if stage else _message(event)))
    return sorted(out, key=lambda f: f.time, reverse=True)


@dataclass
class RecipientTotals:
    recipient: str
    requests: int = 0
    denied: int = 0
    files: int = 0
    bytes_sent: int = 0
    tables: dict[str, int] = field(default_factory=dict)


def recipient_totals(audit: Iterable[Mapping[str, Any]]) -> list[RecipientTotals]:
    """Per recipient: requests, refusals, files downloaded and the bytes actually written to them, by table."""
    by: dict[str, RecipientTotals] = {}
    for record in audit:
        who = str(record.get("recipient") or "")
        if not who:
            continue
        entry = by.setdefault(who, RecipientTotals(who))
        entry.requests += 1
        if is_denied(record.get("status")):
            entry.denied += 1
            continue
        sent = int_or_none(record.get("bytes_sent")) or 0
        entry.bytes_sent += sent
        if record.get("file"):
            entry.files += 1
            table = str(record.get("table") or "unattributed")
            entry.tables[table] = entry.tables.get(table, 0) + sent
    return sorted(by.values(), key=lambda e: e.recipient)


def bytes_by_day(audit: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """Chart series: recipient -> [(day number, MB received that day)], day 0 the first day with a read."""
    from datetime import date

    per: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for record in audit:
        if not record.get("recipient") or is_denied(record.get("status")):
            continue
        try:
            day = date.fromisoformat(str(record.get("time", ""))[:10])
        except ValueError:
            continue
        per[str(record["recipient"])][day] += int_or_none(record.get("bytes_sent")) or 0
    first = min((d for days in per.values() for d in days), default=None)
    if first is None:
        return {}
    return {who: [((d - first).days, b / 1048576) for d, b in sorted(days.items())] for who, days in per.items()}


def new_source_versions(versions: Sequence[ProductVersion]) -> tuple[list[ProductVersion], list[ProductVersion]]:
    """(versions that used a source version newer than the previous publication, republications of the same).

    Latency means "how long until new department data was published"; a republication (a re-run, a policy change,
    a correction of the trust's own code) uses sources already published, so its age says nothing about that.
    """
    fresh: list[ProductVersion] = []
    again: list[ProductVersion] = []
    seen: dict[str, int] = {}
    for version in versions:
        newer = not version.sources or any(v > seen.get(k, -1) for k, v in version.sources.items())
        (fresh if newer else again).append(version)
        for key, value in version.sources.items():
            seen[key] = max(seen.get(key, -1), value)
    return fresh, again
