"""Wall time and peak memory of one command's whole process tree, and medians over repeated runs.

The pipeline's memory is spread over processes (Dagster in one, dbt in a child), so peak memory is the peak of the
*sum* of resident set sizes over the tree, sampled every ``poll`` seconds; the kernel's own maximum for the
command (``ru_maxrss`` from ``os.wait4``) is a floor under it that a short spike between samples cannot escape.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import psutil

#: Lines a worker prints to hand its result back to the bench (everything else is its log).
RESULT_PREFIX = "BENCH-RESULT "


def failure_reason(exc: Exception) -> str:
    """One line saying why a measured run failed: the worker's first line says only that it exited, so the line
    naming what dbt failed, else the last line of its output that says anything (colours stripped)."""
    import re

    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "failed, with no output"
    said = next((line for line in lines if "build failed" in line), None)
    if said is None:
        said = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
    return said[:400]


class MeasureError(Exception):
    """A measured command failed; the message carries the end of its output."""


@dataclass(frozen=True)
class Sample:
    wall_s: float
    peak_rss: int
    returncode: int
    output: str
    result: dict = field(default_factory=dict)
    #: the tree went over the memory limit and was killed (wall time is when that happened)
    over_memory: bool = False
    #: the tree was killed because the disk it spills to was nearly full
    out_of_disk: bool = False


@dataclass(frozen=True)
class Summary:
    """Medians over runs (wall time and peak memory medians taken separately)."""

    wall_s: float
    peak_rss: int
    runs: int
    walls: tuple[float, ...]
    #: every run was stopped at the memory limit: the figures are when and where it was stopped
    over_memory: bool = False

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Summary:
        if not samples:
            raise ValueError("no samples to summarise")
        return cls(statistics.median(s.wall_s for s in samples), int(statistics.median(s.peak_rss for s in samples)),
                   len(samples), tuple(s.wall_s for s in samples), all(s.over_memory for s in samples))


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (processes that vanish mid-count are skipped)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def parse_result(output: str) -> dict:
    """The last ``BENCH-RESULT {json}`` line a worker printed, or {} when there is none."""
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    return {}


def kill_tree(process: psutil.Process) -> None:
    for member in [*process.children(recursive=True), process]:
        try:
            member.kill()
        except psutil.Error:
            continue


def run_measured(argv: Sequence[str], env: Mapping[str, str] | None = None, poll: float = 0.05,
                 timeout: float | None = None, max_rss: int | None = None,
                 disk: tuple[str, int] | None = None) -> Sample:
    """Run ``argv`` to completion, sampling the tree's memory; output goes to a file so a pipe never blocks it.

    With ``max_rss`` the tree is killed when its memory passes that many bytes: on a shared machine a batch copy
    that does not fit must fail alone, not wake the kernel's OOM killer among other people's processes. With
    ``disk=(path, bytes)`` it is killed when the disk holding ``path`` has less than that free: DuckDB spills to a
    temp folder beside its database, and a full disk breaks everything else on the machine.
    """
    with tempfile.TemporaryFile(mode="w+b") as log:
        began = time.perf_counter()
        process = subprocess.Popen(list(argv), env=dict(env) if env is not None else None, stdout=log,
                                   stderr=subprocess.STDOUT)
        watched = psutil.Process(process.pid)
        peak, status, usage, over, full, polls = 0, 0, None, False, False, 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_rss(watched))
            over = max_rss is not None and peak > max_rss
            polls += 1
            full = disk is not None and polls % 20 == 0 and shutil.disk_usage(disk[0]).free < disk[1]
            if over or full or (timeout is not None and time.perf_counter() - began > timeout):
                kill_tree(watched)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(poll)
        wall = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    peak = max(peak, usage.ru_maxrss * 1024 if usage else 0)  # Linux reports ru_maxrss in KiB
    return Sample(wall, peak, process.returncode, output, parse_result(output), over, full)


def run_checked(argv: Sequence[str], env: Mapping[str, str] | None = None, **kwargs) -> Sample:
    """run_measured, raising MeasureError on failure (a run stopped for memory is returned, not raised)."""
    sample = run_measured(argv, env, **kwargs)
    if sample.out_of_disk:
        raise MeasureError(f"{' '.join(argv[:5])}... stopped after {sample.wall_s:.0f} s: the disk was nearly full "
                           "(DuckDB spilling to its temp folder)")
    if sample.over_memory:
        return sample
    if sample.returncode != 0 or sample.result.get("ok") is False:
        tail = "\n".join(sample.output.splitlines()[-25:])
        raise MeasureError(f"{' '.join(argv[:4])}... exited {sample.returncode}:\n{tail}")
    return sample
