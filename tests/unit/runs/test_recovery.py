"""Liveness of a run's process: a dead or reused pid is never mistaken for the run that recorded it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from trust_assets.runs.recovery import process_alive, process_identity


def test_a_live_process_is_alive_and_a_finished_one_is_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        identity = process_identity(child.pid)
        assert identity.startswith(f"{socket.gethostname()}:{child.pid}:")
        assert process_alive(identity) is True
    finally:
        child.kill()
        child.wait()
    assert process_alive(identity) is False


def test_a_reused_pid_is_not_the_recorded_process():
    host, pid, start = process_identity(os.getppid()).split(":")
    assert process_alive(f"{host}:{pid}:{int(start) + 1}") is False


def test_this_process_is_never_the_owner_of_a_run_it_has_not_started():
    assert process_alive(process_identity()) is False


def test_another_hosts_process_is_unknown():
    assert process_alive("some-other-host:1:123") is None
