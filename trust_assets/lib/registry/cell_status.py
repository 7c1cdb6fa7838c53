"""The vocabulary of a published cell: why a measure has a value or not, as analysts read it.

Every published measure ``<m>`` has a ``<m>_status`` column holding one of ``STATUSES`` (never null), so a
suppressed cell and one that cannot be observed yet are told apart without parsing the ``suppression`` string.
Shared by the audit (which writes and re-checks the statuses) and publication (which describes them in the
table), so it lives here rather than in either.
"""

from __future__ import annotations

#: Why disclosure control hid a cell (the policy's rules; see docs/quality.md).
REASONS = ("threshold", "dominance", "p_percent", "contributors", "denominator", "secondary", "numerator",
           "cross_release")
#: The reason column of every published table: ``column:reason`` pairs joined by ';'.
SUPPRESSION_COLUMN = "suppression"
STATUS_SUFFIX = "_status"
STATUS_PUBLISHED = "published"
#: The follow-up month the outcome needs is newer than the newest month the departments have shared.
STATUS_NOT_YET_OBSERVABLE = "not_yet_observable"
#: Nothing to measure (e.g. the median pay of nobody in work): the mart has no value and nothing is hidden.
STATUS_NOT_APPLICABLE = "not_applicable"
#: ``suppressed_<reason>`` for each reason, e.g. ``suppressed_threshold``.
STATUS_SUPPRESSED_PREFIX = "suppressed_"
STATUSES = (STATUS_PUBLISHED, STATUS_NOT_YET_OBSERVABLE, STATUS_NOT_APPLICABLE,
            *(STATUS_SUPPRESSED_PREFIX + r for r in REASONS))


def status_column(measure: str) -> str:
    return measure + STATUS_SUFFIX
