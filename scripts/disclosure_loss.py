"""What analysts lose to disclosure control, measured from a home's release ledger (true beside published).

Usage: TRUST_HOME=... .venv/bin/python scripts/disclosure_loss.py [--json]

Per count measure, over every cell's latest ledger entry: cells published, the share whose published value differs
from the true count, the mean absolute perturbation, cells with a true count of at least the threshold that are
suppressed anyway (keyed rounding's threshold on count + u), and cells withheld by the cross-release rule. The same
figures for plain rounding are computed from the true values (what `cross_release: none` would publish, ignoring
its secondary suppressions), so the cost of the cross-release protection is the difference.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def main() -> int:
    from trust_assets.lib.audit.disclosure.policy import load_policy
    from trust_assets.lib.paths import TrustPaths
    from trust_assets.lib.publish.ledger import read_ledger

    paths = TrustPaths.from_env()
    policy = load_policy()
    ledger = read_ledger(str(paths.disclosure_ledger))
    if ledger.empty:
        print(f"no release ledger at {paths.disclosure_ledger}: publish something first", file=sys.stderr)
        return 2
    latest = ledger[ledger["kind"] == "count"].drop_duplicates(["product", "cell_key", "measure"], keep="last")
    latest = latest[latest["true_value"].notna()]
    t, b = policy.count_threshold, policy.rounding_base
    shown = latest["published_value"].notna()
    true, pub = latest["true_value"], latest["published_value"]
    plain = np.floor(true / b + 0.5) * b
    rows = {
        "cells": len(latest),
        "published": int(shown.sum()),
        "published_share_differing_from_true": round(float((pub[shown] != true[shown]).mean()), 4),
        "mean_abs_perturbation": round(float((pub[shown] - true[shown]).abs().mean()), 3),
        "max_abs_perturbation": float((pub[shown] - true[shown]).abs().max()),
        "mean_signed_perturbation": round(float((pub[shown] - true[shown]).mean()), 3),
        "plain_rounding_mean_abs_perturbation": round(float((plain[shown] - true[shown]).abs().mean()), 3),
        "suppressed_threshold_although_true_at_least_threshold": int(
            ((latest["reason"] == "threshold") & (true >= t)).sum()),
        "true_at_least_threshold": int((true >= t).sum()),
        "withheld_cross_release": int((latest["reason"] == "cross_release").sum()),
        "suppressed_secondary": int((latest["reason"] == "secondary").sum()),
        "policy_version": str(latest["policy_version"].iloc[-1]) if len(latest) else policy.version,
        "releases_in_ledger": int(ledger["release_id"].nunique()),
    }
    if "--json" in sys.argv[1:]:
        print(json.dumps(rows, indent=2))
    else:
        for key, value in rows.items():
            print(f"{key:55s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
