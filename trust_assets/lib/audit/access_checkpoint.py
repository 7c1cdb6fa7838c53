"""Checkpoints of the sharing server's access log, kept where the log is not, so an emptied log is noticed.

The access log (``TrustPaths.access_log``) is hash-chained and its head file is signed, which catches edits,
deletions inside it and a cut-off tail. What a chain cannot show on its own is that the *whole* log, head included,
was deleted or replaced by a shorter consistent one. A checkpoint is the pair (records so far, hash of the last
record), signed with the trust's audit key and appended to a second file in the lineage store
(``TrustPaths.access_checkpoints``); the publish step takes one per release too, so a copy also travels with the
release. ``trust audit verify`` then requires the log to contain every checkpointed record with the same hash.

This module is plain library code (no web framework, no Dagster): the sharing server, the CLI and the publish step
all call it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trust_assets.lib.paths import TrustPaths

GENESIS = "0" * 64


def audit_key(paths: TrustPaths) -> bytes:
    """The trust's HMAC key for log heads and checkpoints, created once (0600) under TrustPaths.secrets."""
    path = paths.secrets / "audit.key"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    key = path.read_text().strip()
    if len(key) < 64:
        raise ValueError(f"{path}: audit key is too short or still being written")
    return bytes.fromhex(key)


def mac(key: bytes, fields: dict[str, Any]) -> str:
    """HMAC-SHA256 over the canonical JSON of ``fields`` (any ``mac`` field excluded)."""
    body = {k: v for k, v in fields.items() if k != "mac"}
    return hmac.new(key, json.dumps(body, sort_keys=True, separators=(",", ":")).encode(), hashlib.sha256).hexdigest()


def signed(key: bytes, fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "mac": mac(key, fields)}


def signature_ok(key: bytes, fields: dict[str, Any]) -> bool:
    given = fields.get("mac")
    return isinstance(given, str) and hmac.compare_digest(given, mac(key, fields))


def tail_record(handle) -> tuple[int, str]:
    """(seq, hash) of the last record of an open log (binary or text), or (0, GENESIS) when it is empty."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    if size == 0:
        return 0, GENESIS
    window = 4096
    while True:
        handle.seek(max(0, size - window))
        lines = handle.read().splitlines()
        if len(lines) > 1 or window >= size:
            break
        window *= 4
    record = json.loads(lines[-1])
    return int(record["seq"]), str(record["hash"])


def log_end(log: Path) -> tuple[int, str]:
    """Where the log ends now, read under a shared lock (appenders hold an exclusive one)."""
    if not log.exists():
        return 0, GENESIS
    with log.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            return tail_record(handle)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    time: str
    source: str


def write_checkpoint(paths: TrustPaths, seq: int, last_hash: str, source: str) -> dict[str, Any]:
    """Append one signed checkpoint to the lineage store's checkpoint file; returns the record written."""
    target = paths.access_checkpoints
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    record = signed(audit_key(paths), {"seq": seq, "hash": last_hash, "source": source,
                                       "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")})
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
    return record


def take_checkpoint(paths: TrustPaths, source: str) -> dict[str, Any]:
    """Checkpoint the access log as it stands now (``source`` says who took it: server, release:<id>, manual)."""
    seq, last_hash = log_end(paths.access_log)
    return write_checkpoint(paths, seq, last_hash, source)


def checkpoint_release(paths: TrustPaths, run_id: str) -> dict[str, Any]:
    """The release step: one checkpoint per release, returned so the release record can carry a copy.

    Idempotent per run id, as release steps must be (a retry or recovery may run it again): an existing, validly
    signed checkpoint of this release is returned instead of writing another.
    """
    source = f"release:{run_id}"
    target = paths.access_checkpoints
    if target.exists():
        key = audit_key(paths)
        for line in target.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("source") == source and signature_ok(key, record):
                return record
    return take_checkpoint(paths, source)


def read_checkpoints(paths: TrustPaths, extra: Iterable[dict[str, Any]] = ()) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint (the lineage store's file plus ``extra``, e.g. copies from release records).

    Returns the checkpoints whose signature holds and a problem line for each one that does not: a forged or
    edited checkpoint is itself evidence of tampering.
    """
    key = audit_key(paths)
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    target = paths.access_checkpoints
    if target.exists():
        for number, line in enumerate(target.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                problems.append(f"{target}: line {number}: not a JSON checkpoint")
    records.extend(extra)
    good: list[Checkpoint] = []
    for record in records:
        if not isinstance(record, dict) or not signature_ok(key, record):
            problems.append(f"checkpoint {record!r:.120} has a bad signature (edited or forged)")
            continue
        good.append(Checkpoint(seq=int(record["seq"]), hash=str(record["hash"]), time=str(record["time"]),
                               source=str(record.get("source", ""))))
    return good, problems


def checkpoint_problem(checkpoints: list[Checkpoint], hashes: dict[int, str], end: int) -> str | None:
    """Why the log (``hashes``: seq -> record hash, ``end``: its last seq) contradicts a checkpoint, or None."""
    for cp in sorted(checkpoints, key=lambda c: c.seq, reverse=True):
        if cp.seq == 0:
            continue
        if cp.seq > end:
            return (f"checkpoint taken {cp.time} ({cp.source}) recorded {cp.seq} records but the log ends at "
                    f"{end}: records were removed or the log was emptied")
        if hashes.get(cp.seq) != cp.hash:
            return (f"record {cp.seq} does not match the checkpoint taken {cp.time} ({cp.source}): the log was "
                    "rewritten")
    return None
