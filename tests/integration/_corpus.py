"""Damaging a copy of a generated home, and publishing from a process that can be killed: helpers of the
bad-input and fault tests.

The tests start from conftest's published home (the tiny home after a run of 2025-01, so a last good version
exists) and damage their own copy: a department table rewritten with another schema, a folder renamed, a month
deleted or shrunk, bad rows appended. The damage goes through deltalake, as a department's own writes would, so
every change is a new Delta version that the trust pins.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class PublishedState:
    """A published product at one version: what readers see, to compare before and after a damaged run."""

    version: int
    rows: int
    content_hash: str


def tree_listing(folder: Path) -> tuple[tuple[str, int, int, int], ...]:
    """(relative path, size, mtime_ns, mode) of everything under ``folder``: any write changes it."""
    entries = []
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        entries.append((str(path.relative_to(folder)), info.st_size if path.is_file() else 0, info.st_mtime_ns,
                        stat.S_IMODE(info.st_mode)))
    return tuple(entries)


def set_writable(folder: Path, writable: bool) -> None:
    """chmod -R a-w (or u+w back) on ``folder``: the departments grant the trust read access only."""
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~0o222)


def published_state(root: Path) -> dict[str, PublishedState]:
    """Version, row count and content hash of every published product under ``root``, read at its latest version."""
    from deltalake import DeltaTable

    from trust_assets.lib.paths import TrustPaths
    from trust_assets.lib.publish.commit import content_hash
    from trust_assets.lib.registry.products import PRODUCTS

    paths = TrustPaths(root)
    states = {}
    for p in PRODUCTS:
        table = DeltaTable(str(paths.published_product(p.name)))
        data = table.to_pyarrow_table()
        states[p.name] = PublishedState(table.version(), data.num_rows, content_hash(data, list(p.grain)))
    return states


def product_month(root: Path, product_name: str, month: str, version: int | None = None) -> pa.Table:
    """One month of a published product, sorted by its grain, for exact comparison across versions."""
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.lib.publish.commit import read_months
    from trust_assets.lib.registry.products import product

    p = product(product_name)
    data = read_months(str(TrustPaths(root).published_product(p.name)), p.month_column, [month], version)
    return data.sort_by([(c, "ascending") for c in p.grain])


@dataclass(frozen=True)
class RunResult:
    success: bool
    message: str
    seconds: float


def run(months: list[str]) -> RunResult:
    """Run the monthly job on the current TRUST_HOME as ``trust run`` does; a refusal before the job is a failure."""
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.runs.execute import RunError, run_months

    started = time.perf_counter()
    try:
        outcomes = run_months(TrustPaths.from_env(), months, echo=lambda *_: None)
    except RunError as exc:  # e.g. the department tables could not even be observed
        return RunResult(False, str(exc), time.perf_counter() - started)
    return RunResult(all(o.success for o in outcomes), "\n".join(o.message for o in outcomes),
                     time.perf_counter() - started)


# --- damage -----------------------------------------------------------------------------------------------------


def source_uri(root: Path, key: str) -> str:
    from trust_assets.lib.paths import TrustPaths

    dept, table = key.split("/")
    return str(TrustPaths(root).source_table(dept, table))


def read_source(root: Path, key: str) -> pa.Table:
    from deltalake import DeltaTable

    return DeltaTable(source_uri(root, key)).to_pyarrow_table()


def month_rows(data: pa.Table, month: str, column: str = "month") -> pa.Table:
    return data.filter(pc.equal(data[column], pa.scalar(f"{month}-01").cast(pa.date32())))


def rewrite_source(root: Path, key: str, change: Callable[[pa.Table], pa.Table]) -> None:
    """The department replaces its table with a changed schema (a new Delta version with the new schema)."""
    from deltalake import write_deltalake

    data = change(read_source(root, key))
    write_deltalake(source_uri(root, key), data, mode="overwrite", schema_mode="overwrite")


def replace_source_month(root: Path, key: str, month: str, rows: pa.Table) -> None:
    """The department rewrites one month of its table (a late 'correction' that loses rows)."""
    from deltalake import write_deltalake

    write_deltalake(source_uri(root, key), rows, mode="overwrite", predicate=f"month = '{month}-01'")


def delete_source_month(root: Path, key: str, month: str) -> None:
    from deltalake import DeltaTable

    DeltaTable(source_uri(root, key)).delete(f"month = '{month}-01'")


def append_source_rows(root: Path, key: str, rows: pa.Table) -> None:
    """The department appends rows in one new commit, with exactly the table's schema."""
    from deltalake import DeltaTable, write_deltalake

    uri = source_uri(root, key)
    schema = pa.schema(DeltaTable(uri).schema().to_arrow())
    write_deltalake(uri, rows.select(schema.names).cast(schema), mode="append")


def append_next_month(root: Path, month: str) -> None:
    """Every monthly-stock department delivers ``month``: its month before's rows again, dated ``month``."""
    from trust_assets.lib.months import first_day, shift_month
    from trust_assets.lib.sources.volume import MONTHLY_STOCK_TABLES

    for key in MONTHLY_STOCK_TABLES:
        rows = month_rows(read_source(root, key), shift_month(month, -1))
        rows = rows.set_column(rows.schema.get_field_index("month"), "month",
                               pa.array([first_day(month)] * rows.num_rows, pa.date32()))
        append_source_rows(root, key, rows)


def sample_rows(data: pa.Table, n: int, salt: str) -> pa.Table:
    """``n`` distinct rows with a person id, picked deterministically (stable hash of the row, not its position)."""
    data = data.filter(pc.is_valid(data["person_id"]))
    keys = [hashlib.sha256(f"{salt}:{row}".encode()).hexdigest() for row in data.to_pylist()]
    order = sorted(range(data.num_rows), key=keys.__getitem__)
    picked = data.take(pa.array(order[: n * 2]))
    # distinct rows only, so an injected copy adds exactly one duplicate per picked row
    seen, keep = set(), []
    for i, row in enumerate(picked.to_pylist()):
        key = tuple(sorted(row.items(), key=lambda kv: kv[0]))
        if key not in seen:
            seen.add(key)
            keep.append(i)
    if len(keep) < n:
        raise ValueError(f"only {len(keep)} distinct rows to sample, wanted {n}")
    return picked.take(pa.array(keep[:n]))


def bad_rows(kind: str, month_data: pa.Table, n: int) -> pa.Table:
    """``n`` rows of one kind of row-level damage, built from real rows of the month so only the fault differs.

    Every kind is additive: the clean rows stay, so a run that excludes the bad rows must publish exactly what
    the clean data gives.
    """
    rows = sample_rows(month_data, n, kind)
    if kind == "null_person_id":
        return rows.set_column(rows.schema.get_field_index("person_id"), "person_id",
                               pa.nulls(n, pa.string()))
    if kind == "duplicate_row":
        return rows
    if kind == "unknown_code":
        # fresh people who live in a district code no register knows: they exist nowhere else, so excluding
        # them leaves every figure as it was
        people = pa.array([f"BADDISTRICT{i:06d}" for i in range(n)])
        rows = rows.set_column(rows.schema.get_field_index("person_id"), "person_id", people)
        return rows.set_column(rows.schema.get_field_index("residence_la_code"), "residence_la_code",
                               pa.array(["E99999999"] * n))
    if kind == "negative_pay":
        # a second record for a real person-employer-month with negative pay (a refund or keying error)
        pay = pc.multiply(pc.abs(rows["pay_gbp"]), pa.scalar(-1.0))
        pay = pc.if_else(pc.equal(pay, 0.0), pa.scalar(-100.0), pay)
        return rows.set_column(rows.schema.get_field_index("pay_gbp"), "pay_gbp", pay)
    raise ValueError(f"unknown damage kind {kind!r}")


#: Which source each row-level damage goes into: claims carry districts, payroll carries pay.
DAMAGE_SOURCE = {"null_person_id": "dwp/uc_claims", "duplicate_row": "dwp/uc_claims",
                 "unknown_code": "dwp/uc_claims", "negative_pay": "hmrc/paye_employments"}


def inject(root: Path, kind: str, month: str, share: float) -> int:
    """Append ``share`` x (the month's rows) bad rows of ``kind`` to its source; returns how many."""
    key = DAMAGE_SOURCE[kind]
    data = month_rows(read_source(root, key), month)
    n = max(1, round(share * data.num_rows))
    append_source_rows(root, key, bad_rows(kind, data, n))
    return n


def exclusion_counts(root: Path, month: str) -> dict[tuple[str, str], int]:
    """Rows the audit model counted as excluded for ``month``, by (source_key, reason), from the warehouse."""
    import duckdb

    from trust_assets.lib.paths import TrustPaths

    con = duckdb.connect(str(TrustPaths(root).warehouse), read_only=True)
    try:
        schema = con.execute("select table_schema from information_schema.tables "
                             "where table_name = 'conformance_exclusions'").fetchall()
        if not schema:
            return {}
        rows = con.execute(
            f'select source_key, reason, sum(affected_rows) from "{schema[0][0]}".conformance_exclusions '
            "where month = cast(? as date) and is_excluded group by 1, 2", [f"{month}-01"]).fetchall()
    finally:
        con.close()
    return {(k, r): int(n) for k, r, n in rows}


# --- a publisher in its own process (killed or raced by the fault tests) ----------------------------------------

#: The synthetic product the fault tests publish: wide enough that a month's write takes a measurable time.
FAULT_PRODUCT = "fault_product"
FAULT_GRAIN = ("month", "k")


def fault_month(month: str, gen: int, rows: int) -> pa.Table:
    """One month of the synthetic product; ``gen`` marks which publication wrote it."""
    import numpy as np

    k = np.arange(rows, dtype=np.int64)
    rng = np.random.default_rng(gen * 1000 + int(month.replace("-", "")))
    return pa.table({
        "month": pa.array(np.full(rows, np.datetime64(f"{month}-01"), dtype="datetime64[D]")).cast(pa.date32()),
        "k": k,
        "gen": pa.array(np.full(rows, gen, dtype=np.int64)),
        "value": rng.normal(size=rows),
        # incompressible text, so that writing a month takes long enough for a kill to land inside it
        "label": pc.binary_join_element_wise(pc.cast(pa.array(rng.integers(0, 2**62, rows)), pa.string()),
                                             pc.cast(pa.array(rng.integers(0, 2**62, rows)), pa.string()), ":"),
    })


def fingerprint(table: pa.Table) -> tuple[int, str]:
    """(rows, sha256 of the rows sorted by grain): equal exactly when two versions hold the same content."""
    import pyarrow.ipc as ipc

    ordered = table.select(["month", "k", "gen", "value", "label"]).sort_by([(c, "ascending") for c in FAULT_GRAIN])
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, ordered.schema) as writer:
        writer.write_table(ordered.combine_chunks())
    return table.num_rows, hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def publisher_main(argv: list[str]) -> None:
    """``uri month gen rows run_id [barrier_dir parties]``: replace one month of the fault product in its own process.

    Prints ``WRITING <epoch>`` once the data is built and hashed (the moment Delta files start to be written) and
    ``DONE <version> <committed>`` after the commit. With a barrier, racing publishers each drop a file in
    ``barrier_dir`` after hashing and start writing when all ``parties`` have, so their writes overlap.
    """
    import sys

    from trust_assets.lib.publish import commit as publish

    uri, month, gen, rows, run_id = argv[0], argv[1], int(argv[2]), int(argv[3]), argv[4]
    barrier, parties = (Path(argv[5]), int(argv[6])) if len(argv) > 6 else (None, 0)
    data = fault_month(month, gen, rows)
    real_hash = publish.content_hash

    def hash_then_announce(table, order_by):
        digest = real_hash(table, order_by)
        if barrier is not None:
            (barrier / run_id).touch()
            while len(list(barrier.iterdir())) < parties:
                time.sleep(0.0005)
        print(f"WRITING {time.time()}", flush=True)
        return digest

    publish.content_hash = hash_then_announce
    result = publish.replace_months(uri, data, product=FAULT_PRODUCT, month_column="month", grain=FAULT_GRAIN,
                                    months=[month], run_id=run_id, metadata={"trust.stage": "fault-test"})
    print(f"DONE {result.version} {result.committed}", flush=True)
    sys.stdout.flush()
    os._exit(0)  # deltalake can abort at interpreter exit after large Arrow work; the commit is done
