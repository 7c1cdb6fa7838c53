"""Retractions: what analysts already saw must not silently disappear.

A department deleting a month, or shrinking it, takes back figures the trust has published; an outcome that was
observed and would become "not yet observable" again un-publishes a fact. Either blocks publication with a named
check (``<dept>__<table>__retractions`` on the pinned sources, ``retractions`` on each candidate) until an operator
records an acknowledgement (``trust acknowledge``): an audited, hash-chained record under
``$TRUST_HOME/trust/retractions/`` that the next run honours and the publication that honours it consumes, so a
later retraction needs a new one. Every retraction a run saw (blocked or acknowledged) is logged for the
evaluation report.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.cell_status import (
    STATUS_NOT_YET_OBSERVABLE,
    STATUS_PUBLISHED,
    STATUS_SUPPRESSED_PREFIX,
    status_column,
)
from trust_assets.lib.registry.products import product

#: Outcome columns that are null while "not yet observable" (docs/quality.md), per product.
OUTCOME_COLUMNS = {"claimant_employment_outcomes": ("in_work_3m", "in_work_6m"),
                   "skills_employment_outcomes": ("in_work_6m",)}


@dataclass(frozen=True)
class Retraction:
    """One published fact taken back: a source month removed or shrunk, rows or observed outcomes of a product."""

    #: a source key (dept/table) or a product name
    subject: str
    #: YYYY-MM: the source month, or the product's month (cohort or completion month)
    month: str
    #: month_removed, month_shrunk, rows_removed, outcome_unobservable
    kind: str
    before: int
    after: int
    detail: str

    @property
    def key(self) -> str:
        return f"{self.subject}@{self.month}"

    def covering_keys(self) -> list[str]:
        """Acknowledgements that cover this retraction: its own, and for a product the source months it follows
        from (an acknowledged PAYE month also covers the outcomes that read it, so one acknowledgement flows)."""
        from trust_assets.lib.months import shift_month

        keys = [self.key]
        if self.kind == "outcome_unobservable":
            keys += [f"hmrc/paye_employments@{shift_month(self.month, k)}"
                     for k in product(self.subject).follow_up_months]
        elif self.kind == "rows_removed":
            keys += [f"{source}@{self.month}" for source in ("dwp/uc_claims", "hmrc/paye_employments")]
        return keys

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def folder(paths: TrustPaths) -> Path:
    return paths.retractions


def source_retractions(key: str, baseline: Mapping[str, int], current: Mapping[str, int], max_loss: float,
                       versions: tuple[int, int]) -> list[Retraction]:
    """Months the last release's version held that the pinned version lost, or lost over ``max_loss`` of rows."""
    found = []
    old_v, new_v = versions
    for month, before in sorted(baseline.items()):
        after = current.get(month, 0)
        if before and after < before * (1 - max_loss):
            kind = "month_removed" if after == 0 else "month_shrunk"
            loss = "" if after == 0 else f" (-{1 - after / before:.1%}, limit -{max_loss:.0%})"
            found.append(Retraction(key, month, kind, before, after,
                                    f"{key} {month}: {before:,} rows at v{old_v} (read by the last release), "
                                    f"{after:,} at v{new_v}{loss}"))
    return found


def _keys(frame: pd.DataFrame, grain: tuple[str, ...]) -> pd.DataFrame:
    keys = frame[list(grain)].copy()
    keys[grain[0]] = pd.to_datetime(keys[grain[0]]).dt.strftime("%Y-%m")
    return keys.astype(str)


def product_retractions(name: str, candidate: pd.DataFrame, published: pd.DataFrame | None) -> list[Retraction]:
    """Published cells of the candidate's months that the candidate drops, or whose observed outcome it nulls.

    An outcome was observed when its ``<m>_status`` is ``published`` or ``suppressed_<reason>``, and is taken back
    when the candidate's status is ``not_yet_observable`` (``not_applicable`` is not a retraction: nothing to
    measure). Versions published before status columns are read by value and ``suppression`` reason instead.
    """
    if published is None or not len(published) or not len(candidate):
        return []
    grain = product(name).grain
    old, new = published.copy(), candidate.copy()
    old.index = pd.MultiIndex.from_frame(_keys(old, grain))
    new.index = pd.MultiIndex.from_frame(_keys(new, grain))
    old = old[old.index.get_level_values(0).isin(set(new.index.get_level_values(0)))]
    found = []
    gone = old.index.difference(new.index)
    for month, count in pd.Series(gone.get_level_values(0)).value_counts().sort_index().items():
        found.append(Retraction(name, str(month), "rows_removed", int((old.index.get_level_values(0) == month).sum()),
                                int((new.index.get_level_values(0) == month).sum()),
                                f"{name} {month}: {count} published cell row(s) no longer in the release"))
    both = old.index.intersection(new.index)
    old, new = old.loc[both], new.loc[both]
    for column in OUTCOME_COLUMNS.get(name, ()):
        was = _observed(old, column)
        now_unobservable = ~_observed(new, column) & _unobservable(new, column)
        lost = was & now_unobservable
        by_month = pd.Series(lost.to_numpy(), index=old.index.get_level_values(0)).groupby(level=0).sum()
        for month, count in by_month[by_month > 0].items():
            observed = int(was[old.index.get_level_values(0) == month].sum())
            found.append(Retraction(name, str(month), "outcome_unobservable", observed, observed - int(count),
                                    f"{name} {month}: {int(count)} observed {column} cell(s) would become "
                                    "not yet observable"))
    return found


def _observed(frame: pd.DataFrame, column: str) -> pd.Series:
    """Cells whose outcome was observed: by the ``<m>_status`` column (published or suppressed_<reason>), or, for
    versions published before status columns, a value or a suppression reason naming the column."""
    status = status_column(column)
    if status in frame.columns:
        text = frame[status].astype("string").fillna("")
        return ((text == STATUS_PUBLISHED) | text.str.startswith(STATUS_SUPPRESSED_PREFIX)).astype(bool)
    return frame[column].notna() | _reason_names(frame, column)


def _unobservable(frame: pd.DataFrame, column: str) -> pd.Series:
    """Cells that are "not yet observable": by status where the frame has it, else null with no reason."""
    status = status_column(column)
    if status in frame.columns:
        return (frame[status].astype("string") == STATUS_NOT_YET_OBSERVABLE).fillna(False).astype(bool)
    return frame[column].isna() & ~_reason_names(frame, column)


def _reason_names(frame: pd.DataFrame, column: str) -> pd.Series:
    reasons = frame["suppression"] if "suppression" in frame else pd.Series([None] * len(frame), index=frame.index)
    return reasons.fillna("").map(lambda cell: any(p.split(":")[0] == column for p in cell.split(";") if p))


# --- acknowledgements: an append-only, hash-chained record ---------------------------------------------------------


def _log_path(paths: TrustPaths) -> Path:
    return folder(paths) / "acknowledgements.jsonl"


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _append(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append with the previous record's hash, so an edited or deleted line breaks the chain (``verify``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = _records(path)
    record = {**record, "prev": previous[-1]["hash"] if previous else ""}
    record["hash"] = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    with path.open("a") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
    return record


def acknowledgement_records(paths: TrustPaths) -> list[dict[str, Any]]:
    """Every acknowledgement and honoured record, oldest first."""
    return _records(_log_path(paths))


def verify_acknowledgements(paths: TrustPaths) -> list[str]:
    """Problems with the chain (empty when intact)."""
    problems, prev = [], ""
    for number, record in enumerate(_records(_log_path(paths)), start=1):
        body = {k: v for k, v in record.items() if k != "hash"}
        if record.get("prev") != prev or hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest() \
                != record.get("hash"):
            problems.append(f"record {number} does not chain to the one before (edited, removed or reordered)")
        prev = record.get("hash", "")
    return problems


def acknowledge(paths: TrustPaths, subject: str, month: str, reason: str, by: str | None = None) -> dict[str, Any]:
    """Record an operator's acknowledgement of the retraction of ``subject`` in ``month``."""
    if not reason.strip():
        raise ValueError("an acknowledgement needs a reason (who asked, why it is right)")
    record = {"type": "acknowledged", "id": f"ack-{int(time.time() * 1000)}-{subject}@{month}",
              "subject": subject, "month": month, "reason": reason.strip(),
              "by": by or getpass.getuser(), "at": _now()}
    return _append(_log_path(paths), record)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def acknowledged_months(paths: TrustPaths, subject: str) -> set[str]:
    """Months of ``subject`` an operator ever acknowledged taking back (consumed or not): a withdrawn source month
    that an outcome cohort reads as a follow-up month is known to be gone, not a broken feed."""
    return {r["month"] for r in _records(_log_path(paths)) if r["type"] == "acknowledged" and r["subject"] == subject}


def active_acknowledgements(paths: TrustPaths) -> dict[str, dict[str, Any]]:
    """Acknowledgements not yet consumed by a publication, by retraction key (subject@month)."""
    records = _records(_log_path(paths))
    used = {r["ack"] for r in records if r["type"] == "honoured"}
    return {f"{r['subject']}@{r['month']}": r for r in records if r["type"] == "acknowledged" and r["id"] not in used}


def judge(paths: TrustPaths, run_id: str, check: str, retractions: list[Retraction]
          ) -> tuple[list[Retraction], list[tuple[Retraction, dict[str, Any]]]]:
    """Split retractions into blocking and acknowledged ones, and log each for the report and ``--pending``."""
    active = active_acknowledgements(paths)
    covering = {r.key: next((active[k] for k in r.covering_keys() if k in active), None) for r in retractions}
    blocking = [r for r in retractions if covering[r.key] is None]
    acknowledged = [(r, ack) for r in retractions if (ack := covering[r.key]) is not None]
    if retractions:
        path = folder(paths) / "seen.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            for r in retractions:
                ack = covering[r.key]
                handle.write(json.dumps({"run_id": run_id, "check": check, "at": _now(), **r.as_dict(),
                                         "status": "acknowledged" if ack else "blocked",
                                         "ack": ack["id"] if ack else None}) + "\n")
    return blocking, acknowledged


def seen(paths: TrustPaths) -> list[dict[str, Any]]:
    """Every retraction a run saw, oldest first (blocked or acknowledged)."""
    return _records(folder(paths) / "seen.jsonl")


def pending(paths: TrustPaths) -> list[dict[str, Any]]:
    """Retractions that blocked a run and have no active acknowledgement (newest sighting of each key)."""
    active = active_acknowledgements(paths)
    latest: dict[str, dict[str, Any]] = {}
    for record in seen(paths):
        key = f"{record['subject']}@{record['month']}"
        if record["status"] == "blocked" and key not in active:
            latest[key] = record
        elif key in active:
            latest.pop(key, None)
    return [latest[k] for k in sorted(latest)]


def mark_honoured(paths: TrustPaths, run_id: str) -> list[str]:
    """After ``run_id`` published: consume the acknowledgements its checks honoured (a later retraction of the
    same month needs a new acknowledgement). Returns the acknowledgement ids consumed."""
    used = {r["ack"] for r in _records(_log_path(paths)) if r["type"] == "honoured"}
    ids = sorted({r["ack"] for r in seen(paths) if r["run_id"] == run_id and r.get("ack") and r["ack"] not in used})
    for ack in ids:
        _append(_log_path(paths), {"type": "honoured", "ack": ack, "run_id": run_id, "at": _now()})
    return ids


def summary(blocking: list[Retraction], acknowledged: list[tuple[Retraction, dict[str, Any]]], what: str) -> str:
    """The check's description: each blocking retraction and the command that acknowledges it."""
    if blocking:
        return (f"{len(blocking)} retraction(s) of already-published {what}: "
                + "; ".join(r.detail for r in blocking[:5])
                + ". If right, record it: " + "; ".join(
                    f"trust acknowledge {r.subject} {r.month} --reason '...'" for r in blocking[:3])
                + ("" if len(blocking) <= 3 else f" (or `trust acknowledge --pending --reason '...'` for all "
                   f"{len(blocking)})"))
    if acknowledged:
        return f"{len(acknowledged)} retraction(s) acknowledged: " + "; ".join(
            f"{r.detail} [{a['id']} by {a['by']}: {a['reason']}]" for r, a in acknowledged[:5])
    return f"no already-published {what} retracted"
