"""The access audit: who read what, through which agreement, as an append-only, hash-chained JSON-lines log.

Every record carries the hash of the record before it and its own hash over its canonical JSON, so editing,
deleting or reordering any line breaks the chain at that line. A small head file records the last sequence
number and hash, which also catches lines cut off the end. This is tamper-*evident*, not tamper-proof: someone
who can rewrite the whole file and the head can forge a consistent history; ship the head hash elsewhere (the
evaluation report prints it) to close that gap.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from trust_assets.lib.paths import TrustPaths

GENESIS = "0" * 64


def access_log_path(paths: TrustPaths) -> Path:
    return paths.audit / "access.jsonl"


def _head_path(log: Path) -> Path:
    return log.with_name(log.name + ".head")


def record_hash(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


class AccessLog:
    """Appends records; an exclusive file lock plus re-reading the tail keeps the chain linear even when several
    threads, server instances or worker processes write the same log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @staticmethod
    def _tail(handle) -> tuple[int, str]:
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

    def append(self, **fields: object) -> dict:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                seq, prev = self._tail(handle)
                record = {"seq": seq + 1, "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                          **fields, "prev_hash": prev}
                record["hash"] = record_hash(record)
                handle.write((json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8"))
                handle.flush()
                head = _head_path(self.path)
                tmp = head.with_suffix(".tmp")
                tmp.write_text(json.dumps({"seq": record["seq"], "hash": record["hash"]}))
                os.replace(tmp, head)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return record


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad_line: int | None = None
    problem: str | None = None


def verify_access_log(path: Path) -> VerifyResult:
    """Walk the chain; the first bad line (1-based) and what is wrong with it, or ok.

    Holds a shared lock on the log while reading it and its head: an appender writes both under the exclusive
    lock, so a verify running beside a live server never sees a record whose head update is still to come.
    """
    if not path.exists():
        return VerifyResult(True, 0)
    with path.open(encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            return _verify_locked(handle, _head_path(path))
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _verify_locked(handle, head: Path) -> VerifyResult:
    prev, count, seq = GENESIS, 0, 0
    for number, line in enumerate(handle, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            return VerifyResult(False, count, number, "line is not valid JSON")
        if not isinstance(record, dict) or "hash" not in record or "prev_hash" not in record:
            return VerifyResult(False, count, number, "line is not an audit record")
        if record_hash(record) != record["hash"]:
            return VerifyResult(False, count, number, "record was edited: its hash does not match its content")
        if record["prev_hash"] != prev:
            return VerifyResult(False, count, number,
                                "chain broken: previous record hash does not match (a record before it was "
                                "deleted, inserted or moved)")
        if record.get("seq") != seq + 1:
            return VerifyResult(False, count, number, f"sequence jumps from {seq} to {record.get('seq')}")
        prev, seq, count = record["hash"], int(record["seq"]), count + 1
    if head.exists():
        expected = json.loads(head.read_text())
        if expected.get("seq") != seq or expected.get("hash") != prev:
            return VerifyResult(False, count, count + 1,
                                f"log ends at record {seq} but the head says {expected.get('seq')}: records were "
                                "removed from the end")
    return VerifyResult(True, count)


def read_access_log(paths: TrustPaths) -> list[dict]:
    """Every access record, oldest first, for lineage and the evaluation report (reuse: who read which version)."""
    path = access_log_path(paths)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
