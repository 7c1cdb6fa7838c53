"""How often each department delivers, and so how fresh each published product can be expected to be.

The departments share monthly stocks and flows; each delivers a month some days after it ends (the agreements'
schedules, docs/data.md). A product is due once the slowest source it needs has delivered and the trust has had a
few days to run and review it; it is stale a cadence later than that. The Dagster freshness policies and the
monthly schedule are derived from these numbers, so changing a department's cadence changes them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Cadence:
    #: How often a new version arrives.
    every: timedelta
    #: How long after a month ends that month's data arrives.
    delivered_after: timedelta


MONTHLY = timedelta(days=31)
#: Time the trust allows itself between the last delivery and publication (a run, and a look at the checks).
PROCESSING = timedelta(days=3)

SOURCE_CADENCE: dict[str, Cadence] = {
    "dwp/uc_claims": Cadence(MONTHLY, timedelta(days=10)),  # UC stock at the assessment-period count
    "hmrc/paye_employments": Cadence(MONTHLY, timedelta(days=14)),  # RTI: the month's FPS submissions
    "dfe/fe_learner_aims": Cadence(MONTHLY, timedelta(days=14)),  # ILR monthly return
    "beis/business_register": Cadence(MONTHLY, timedelta(days=7)),  # register extract
}


def product_due_after_month_end() -> timedelta:
    """When a month's products can be published: the slowest source's delivery plus processing."""
    return max(c.delivered_after for c in SOURCE_CADENCE.values()) + PROCESSING


def product_freshness_windows() -> tuple[timedelta, timedelta]:
    """(warn, fail) windows since a product's last publication.

    Warn when a whole cadence plus the slowest delivery has passed without a new version (the next month should
    have been published by then); fail a week later.
    """
    cadence = max(c.every for c in SOURCE_CADENCE.values())
    warn = cadence + product_due_after_month_end()
    return warn, warn + timedelta(days=7)
