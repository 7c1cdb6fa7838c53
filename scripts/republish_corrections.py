"""Late corrections and republication, as DWP would make them: small changes to chosen cells, then `trust run`.

Usage: TRUST_HOME=... .venv/bin/python scripts/republish_corrections.py --months 2025-03,2025-06 [--rounds 3]
       [--cells 12] [--seed 11]

Each round adds 1-3 claimants (copies of someone already there, under new pseudonymous ids) to some local
authorities and removes every row of 1-3 claimants from others, in each month given, through deltalake (two commits
per round, like a department's own writes), then republishes those months. Use it to measure what the cross-release
protection costs after republications (scripts/disclosure_loss.py) and to attack the served versions
(tests/integration/test_client_differencing_attack.py uses ``correct_claims``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CLAIMS = ("dwp", "uc_claims")


def correct_claims(root: Path, rng: np.random.Generator, month: str, tag: str, cells: int = 12) -> dict[str, int]:
    """One round of corrections to ``month`` (``YYYY-MM``) of dwp/uc_claims; returns claimants added (+) or
    removed (-) per local authority code. ``tag`` makes the new ids unique across rounds."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable, write_deltalake

    from trust_assets.lib.paths import TrustPaths

    uri = str(TrustPaths(root).source_table(*CLAIMS))
    table = DeltaTable(uri)
    day = pa.scalar(f"{month}-01").cast(pa.date32())
    rows = table.to_pyarrow_table(filters=(pc.field("month") == day) & pc.field("person_id").is_valid())  # one month
    areas = sorted(set(rows["residence_la_code"].drop_null().to_pylist()))
    if not areas:
        raise SystemExit(f"dwp/uc_claims holds no claimant for {month}: nothing to correct")
    chosen = rng.choice(areas, size=min(cells, len(areas)), replace=False).tolist()
    change: dict[str, int] = {}
    added = []
    for i, area in enumerate(chosen):
        in_area = rows.filter(pc.equal(rows["residence_la_code"], area))
        people = sorted(set(in_area["person_id"].to_pylist()))
        k = int(rng.integers(1, 4))
        if i % 2 == 0:
            template = in_area.slice(int(rng.integers(0, in_area.num_rows)), 1)
            index = template.schema.get_field_index("person_id")
            added += [template.set_column(index, "person_id", pa.array([f"PCORR{tag}{i:03d}{j}"]))
                      for j in range(k)]
            change[area] = k
        elif len(people) > k:
            gone = ", ".join(f"'{p}'" for p in rng.choice(people, size=k, replace=False).tolist())
            table.delete(f"month = '{month}-01' AND person_id IN ({gone})")
            change[area] = -k
    if added:
        schema = pa.schema(DeltaTable(uri).schema().to_arrow())
        write_deltalake(uri, pa.concat_tables(added).select(schema.names).cast(schema), mode="append")
    return change


def main() -> int:
    from trust_assets.lib.months import parse_month
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.runs.execute import run_months

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", required=True, help="comma-separated YYYY-MM months to correct and republish")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cells", type=int, default=12, help="local authorities changed per month and round")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    months = [parse_month(m.strip()) for m in args.months.split(",") if m.strip()]
    if not months or args.rounds < 1 or args.cells < 1:
        parser.error("need at least one month, one round and one cell")
    paths = TrustPaths.from_env()
    rng = np.random.default_rng(args.seed)
    for round_ in range(1, args.rounds + 1):
        for month in months:
            change = correct_claims(paths.root, rng, month, f"{args.seed}r{round_}{month.replace('-', '')}",
                                    args.cells)
            print(f"round {round_}: {month} dwp/uc_claims {sum(v > 0 for v in change.values())} authorities +, "
                  f"{sum(v < 0 for v in change.values())} -")
        outcomes = run_months(paths, months, quiet=True)
        if not all(o.success for o in outcomes):
            print("\n".join(o.message for o in outcomes if not o.success))
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
