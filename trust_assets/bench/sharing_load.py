"""A bounded load test of the sharing server on loopback: ``python -m trust_assets.bench.sharing_load``.

It builds a throwaway TRUST_HOME with one small department table (no dependency on the synthetic generator),
starts ``trust serve`` in a subprocess (so client and server do not share a GIL), and runs N concurrent clients
for a fixed time mixing metadata requests, queries and file reads. It reports requests/s, p50/p99 latency and
errors per kind. Loopback only: it refuses any other host.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

KINDS = ("metadata", "query", "file")


def build_world(root: Path, months: int = 6, rows_per_month: int = 20_000) -> tuple[Path, Path]:
    """A TRUST_HOME with hmrc/paye_employments (one commit per month) and an agreements folder; returns both."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from trust_assets.lib.paths import TrustPaths
    from trust_assets.lib.registry.sources import PAYE_EMPLOYMENTS

    paths = TrustPaths(root).ensure()
    target = paths.source_table("hmrc", "paye_employments")
    for m in range(months):
        month = dt.date(2025, 1 + m, 1)
        n = rows_per_month
        table = pa.table({
            "person_id": [f"p{i:07d}" for i in range(n)], "employer_id": [f"e{i % 997:05d}" for i in range(n)],
            "month": pa.array([month] * n, pa.date32()), "pay_gbp": [1500.0 + (i % 300) for i in range(n)],
            "residence_la_code": [f"E0600{i % 50:04d}" for i in range(n)],
            "employment_start_date": pa.array([dt.date(2020, 1, 1)] * n, pa.date32()),
        }, schema=PAYE_EMPLOYMENTS.schema)
        write_deltalake(str(target), table, mode="append", partition_by=["month"])
    agreements = root / "agreements"
    agreements.mkdir(exist_ok=True)
    (agreements / "dsa-hmrc-trust.yaml").write_text(
        "id: dsa-hmrc-trust\nprovider: HMRC\nrecipient: trust\nshare: hmrc\n"
        "purpose: load test of the sharing server\nlawful_basis: testing only\n"
        "start_date: 2025-01-01\nend_date: 2099-12-31\nretention: P0D\nstatus: active\n"
        "disclosure_policy: no_onward_release\ntables:\n  - schema: default\n    name: paye_employments\n"
        "    source: {department_table: hmrc/paye_employments}\n"
        "    columns: [person_id, month, pay_gbp, residence_la_code]\n    rows: ['month >= 2025-02']\n")
    return root, agreements


def run_load(endpoint: str, token: str, table: str, clients: int, seconds: float) -> dict:
    """Hammer ``endpoint`` with ``clients`` threads for ``seconds``; returns the figures."""
    import httpx

    if not endpoint.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise click.ClickException(f"refusing to load-test {endpoint}: loopback only")
    share, schema, name = table.split(".")
    base = f"{endpoint}/shares/{share}/schemas/{schema}/tables/{name}"
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=60) as warm:
        response = warm.post(f"{base}/query", json={}, headers=headers)
        response.raise_for_status()
        urls = [json.loads(line)["file"]["url"] for line in response.text.splitlines()[2:]]
    if not urls:
        raise click.ClickException("the table has no files to read")
    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: dict[str, int] = dict.fromkeys(KINDS, 0)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        local: dict[str, list[float]] = {k: [] for k in KINDS}
        failed = dict.fromkeys(KINDS, 0)
        with httpx.Client(timeout=60, headers=headers) as client:
            i = index
            while time.monotonic() < deadline:
                kind = KINDS[i % 3]
                i += 1
                started = time.perf_counter()
                try:
                    if kind == "metadata":
                        r = client.get(f"{base}/metadata")
                    elif kind == "query":
                        r = client.post(f"{base}/query", json={"limitHint": 1000})
                    else:
                        r = client.get(urls[i % len(urls)], headers={"Authorization": ""})
                    ok = r.status_code < 400
                except httpx.HTTPError:
                    ok = False
                local[kind].append(time.perf_counter() - started)
                failed[kind] += 0 if ok else 1
        with lock:
            for k in KINDS:
                latencies[k].extend(local[k])
                errors[k] += failed[k]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    every = [x for k in KINDS for x in latencies[k]]

    def pct(values: list[float], q: int) -> float:
        return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 1) if len(values) > 1 else float("nan")

    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": len(every),
        "requests_per_second": round(len(every) / elapsed, 1), "p50_ms": pct(every, 50), "p99_ms": pct(every, 99),
        "errors": sum(errors.values()),
        "by_kind": {k: {"requests": len(latencies[k]), "p50_ms": pct(latencies[k], 50),
                        "p99_ms": pct(latencies[k], 99), "errors": errors[k]} for k in KINDS},
        "files": len(urls),
    }



def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@click.command()
@click.option("--clients", default=32, show_default=True, type=click.IntRange(1, 256))
@click.option("--seconds", default=30.0, show_default=True, type=click.FloatRange(1, 600))
@click.option("--months", default=6, show_default=True, type=click.IntRange(1, 24))
@click.option("--rows-per-month", default=20_000, show_default=True, type=click.IntRange(1, 5_000_000))
def main(clients: int, seconds: float, months: int, rows_per_month: int) -> None:
    """Start a throwaway server on loopback and measure it under concurrent clients."""
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.sharing.recipients import RecipientStore

    with tempfile.TemporaryDirectory(prefix="sharing-load-") as tmp:
        root, agreements = build_world(Path(tmp), months, rows_per_month)
        token = RecipientStore(TrustPaths(root)).create("trust").token
        port = free_port()
        env = {**os.environ, "TRUST_HOME": str(root)}
        server = subprocess.Popen(
            [sys.executable, "-c", "from trust_assets.cli.sharing import serve; serve()", "--port", str(port),
             "--agreements", str(agreements), "--rate-limit", "0"],  # measures the server, not its limiter
            env=env, stdout=subprocess.DEVNULL)
        try:
            endpoint = f"http://127.0.0.1:{port}/delta-sharing"
            _wait_for(endpoint)
            figures = run_load(endpoint, token, "hmrc.default.paye_employments", clients, seconds)
        finally:
            server.terminate()
            server.wait(timeout=20)
        figures["cpu_count"] = os.cpu_count()
        figures["rows_per_month"], figures["months"] = rows_per_month, months
        click.echo(json.dumps(figures, indent=2))


def _wait_for(endpoint: str) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{endpoint}/shares", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise click.ClickException("the server did not start within 30 s")


if __name__ == "__main__":
    main()
