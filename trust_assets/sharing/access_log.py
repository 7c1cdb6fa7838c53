"""The access audit: who read what, through which agreement, as an append-only, hash-chained JSON-lines log.

Every record carries the hash of the record before it and its own hash over its canonical JSON, so editing,
deleting or reordering any line breaks the chain at that line. A head file beside the log holds the record count
and the last hash, signed with the trust's audit key, so a cut-off tail, a deleted log or a deleted head is found
too. Checkpoints of (count, hash), written every few minutes and at every release into the lineage store
(``lib/audit/access_checkpoint.py``), catch the last case: the log *and* its head deleted or replaced together.

This is tamper-*evident*, not tamper-proof: someone who holds the audit key and can rewrite the log, its head and
every checkpoint can still forge a consistent history (docs/sharing.md says what this does and does not prove).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trust_assets.lib.audit.access_checkpoint import (
    GENESIS,
    audit_key,
    checkpoint_problem,
    read_checkpoints,
    signature_ok,
    signed,
    tail_record,
    write_checkpoint,
)
from trust_assets.lib.paths import TrustPaths

#: The server checkpoints the log after this many records or this many seconds, whichever comes first.
CHECKPOINT_EVERY_RECORDS = 500
CHECKPOINT_EVERY_SECONDS = 300


def access_log_path(paths: TrustPaths) -> Path:
    return paths.access_log


def head_path(log: Path) -> Path:
    return log.with_name(log.name + ".head")


def record_hash(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


class AccessLog:
    """Appends records; an exclusive file lock plus re-reading the tail keeps the chain linear even when several
    threads, server instances or worker processes write the same log. The signed head is rewritten with every
    record; ``checkpoint`` (if given) is called with (seq, hash) now and then, outside the lock."""

    def __init__(self, path: Path, key: bytes, checkpoint: Callable[[int, str], object] | None = None) -> None:
        self.path = path
        self.key = key
        self._lock = threading.Lock()
        self._checkpoint = checkpoint
        self._last_checkpoint = (0, 0.0)

    @classmethod
    def for_paths(cls, paths: TrustPaths, *, checkpoints: bool = True) -> AccessLog:
        """The trust's access log, checkpointing into the lineage store unless told not to."""
        def checkpoint(seq: int, last: str) -> object:
            return write_checkpoint(paths, seq, last, "server")
        return cls(paths.access_log, audit_key(paths), checkpoint if checkpoints else None)

    def append(self, **fields: object) -> dict:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        with self._lock, os.fdopen(fd, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                seq, prev = tail_record(handle)
                record = {"seq": seq + 1, "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                          **fields, "prev_hash": prev}
                digest = record_hash(record)
                record["hash"] = digest
                handle.write((json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8"))
                handle.flush()
                self._write_head(seq + 1, digest)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        self._maybe_checkpoint(seq + 1, digest)
        return record

    def _write_head(self, seq: int, last: str) -> None:
        head = head_path(self.path)
        tmp = head.with_name(head.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(signed(self.key, {"seq": seq, "hash": last}), out)
        os.replace(tmp, head)

    def _maybe_checkpoint(self, seq: int, last: str) -> None:
        if self._checkpoint is None:
            return
        at_seq, at_time = self._last_checkpoint
        now = time.monotonic()
        if seq - at_seq >= CHECKPOINT_EVERY_RECORDS or now - at_time >= CHECKPOINT_EVERY_SECONDS:
            self._last_checkpoint = (seq, now)
            self._checkpoint(seq, last)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad_line: int | None = None
    problem: str | None = None
    checkpoints: int = 0


def verify_access_log(path: Path, paths: TrustPaths | None = None, extra_checkpoints: list[dict] | None = None
                      ) -> VerifyResult:
    """Walk the chain, then check it against the signed head and every checkpoint; ok, or the first problem.

    ``paths`` (default: the TrustPaths the log belongs to) locates the audit key and the checkpoints. Holds a
    shared lock on the log while reading it and its head: an appender writes both under the exclusive lock, so a
    verify beside a live server never sees a record whose head update is still to come.
    """
    paths = paths or TrustPaths(path.parent.parent.parent)
    key = audit_key(paths)
    checkpoints, problems = read_checkpoints(paths, extra_checkpoints or [])
    if problems:
        return VerifyResult(False, 0, None, problems[0], len(checkpoints))
    wanted = {cp.seq for cp in checkpoints}
    head = head_path(path)
    if not path.exists():
        result = _verify_end(key, head, 0, GENESIS, exists=False)
        count = 0
        hashes: dict[int, str] = {}
    else:
        with path.open(encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            try:
                result, hashes = _verify_chain(handle, wanted)
                count = result.records
                if result.ok:
                    result = _verify_end(key, head, count, hashes.get(-1, GENESIS), exists=True)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    if not result.ok:
        return VerifyResult(False, result.records, result.first_bad_line, result.problem, len(checkpoints))
    problem = checkpoint_problem(checkpoints, hashes, count)
    if problem:
        return VerifyResult(False, count, count + 1, problem, len(checkpoints))
    return VerifyResult(True, count, checkpoints=len(checkpoints))


def _verify_chain(handle, wanted: set[int]) -> tuple[VerifyResult, dict[int, str]]:
    prev, count, seq = GENESIS, 0, 0
    hashes: dict[int, str] = {}
    for number, line in enumerate(handle, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            return VerifyResult(False, count, number, "line is not valid JSON"), hashes
        if not isinstance(record, dict) or "hash" not in record or "prev_hash" not in record:
            return VerifyResult(False, count, number, "line is not an audit record"), hashes
        if record_hash(record) != record["hash"]:
            return VerifyResult(False, count, number, "record was edited: its hash does not match its content"), hashes
        if record["prev_hash"] != prev:
            return VerifyResult(False, count, number,
                                "chain broken: previous record hash does not match (a record before it was "
                                "deleted, inserted or moved)"), hashes
        if record.get("seq") != seq + 1:
            return VerifyResult(False, count, number, f"sequence jumps from {seq} to {record.get('seq')}"), hashes
        prev, seq, count = record["hash"], int(record["seq"]), count + 1
        if seq in wanted:
            hashes[seq] = prev
    hashes[-1] = prev
    return VerifyResult(True, count), hashes


def _verify_end(key: bytes, head: Path, seq: int, last: str, *, exists: bool) -> VerifyResult:
    """The log must end where its signed head says; a missing log, a missing head or a forged head all fail."""
    if not head.exists():
        if seq == 0 and not exists:
            return VerifyResult(True, 0)
        return VerifyResult(False, seq, seq + 1, f"the head file {head.name} is missing: the log's end cannot be "
                            "checked (records may have been removed from the end)")
    try:
        expected = json.loads(head.read_text())
    except ValueError:
        return VerifyResult(False, seq, seq + 1, f"the head file {head.name} is not valid JSON")
    if not isinstance(expected, dict) or not signature_ok(key, expected):
        return VerifyResult(False, seq, seq + 1, f"the head file {head.name} is not signed by this trust's audit "
                            "key (edited or forged)")
    if not exists:
        return VerifyResult(False, 0, 1, f"the log is missing but its head says it held {expected.get('seq')} "
                            "records")
    if expected.get("seq") != seq or expected.get("hash") != last:
        return VerifyResult(False, seq, seq + 1,
                            f"log ends at record {seq} but the head says {expected.get('seq')}: records were "
                            "removed from the end, or the log and its head are out of step")
    return VerifyResult(True, seq)


def read_access_log(paths: TrustPaths) -> list[dict]:
    """Every access record, oldest first, for lineage and the evaluation report (reuse: who read which version)."""
    path = access_log_path(paths)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
