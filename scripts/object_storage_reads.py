"""Read paths of department tables: a local folder against object storage (the S3 store of scripts/services.sh).

Usage: eval "$(bash scripts/services.sh start s3)"; .venv/bin/python scripts/object_storage_reads.py [SCALE] [MONTHS]

Generates the synthetic departments twice with the same seed (a temporary local folder, and a fresh prefix in the
store's `departments` bucket), then per table: the pin (Delta log replay, no data read) and a full read of the
pinned version through the trust's reader (`delta_pins.read_version`: DuckDB over the files the log lists; for
object storage through lib/storage.py's fsspec filesystem), median of 3. Rows must agree. Removes what it wrote.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path


def main() -> int:
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.lib.registry.sources import SOURCE_TABLES
    from trust_assets.lib.sources.delta_pins import pin, read_version
    from trust_assets.lib.storage import remove_tree
    from trust_assets.synth.writer import generate

    scale = sys.argv[1] if len(sys.argv) > 1 else "small"
    months = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    prefix = f"s3://departments/reads-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        sides = {"local": TrustPaths(Path(folder)), "s3": TrustPaths(Path(folder), departments_uri=prefix)}
        try:
            for name, paths in sides.items():
                began = time.perf_counter()
                generate(paths, seed=1, scale=scale, months=months, start="2025-01")
                print(f"synth {scale} x{months} into {name}: {time.perf_counter() - began:.1f} s")
            print(f"{'table':26} {'where':5} {'pin':>7} {'read':>7} {'rows':>10} {'MB':>7}")
            for table in SOURCE_TABLES:
                counts = set()
                for name, paths in sides.items():
                    uri = paths.source_table(table.dept, table.table)
                    began = time.perf_counter()
                    pinned = pin(table, uri)
                    pinning = time.perf_counter() - began
                    times = []
                    for _ in range(3):
                        began = time.perf_counter()
                        counts.add(read_version(uri).num_rows)
                        times.append(time.perf_counter() - began)
                    print(f"{table.key:26} {name:5} {pinning:6.2f}s {statistics.median(times):6.2f}s "
                          f"{pinned.row_count:>10,} {pinned.size_bytes / 1e6:7.1f}")
                if len(counts) != 1:
                    print(f"rows differ for {table.key}: {sorted(counts)}")
                    return 1
        finally:
            remove_tree(prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
