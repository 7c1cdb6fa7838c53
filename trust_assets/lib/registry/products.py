"""The published labour market data products: names, grain and the month column each is partitioned by.

The dbt marts of the same names are the release candidates' logic; this registry is what the Dagster publish
step, the audit, the sharing server and the catalogue agree on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    name: str
    title: str
    description: str
    #: Columns that identify one row (the grain); the first is the month column.
    grain: tuple[str, ...]
    #: Which follow-up months a cohort of this product needs before its outcomes are observable.
    follow_up_months: tuple[int, ...] = ()

    @property
    def month_column(self) -> str:
        return self.grain[0]


LOCAL_LABOUR_MARKET_MONTHLY = Product(
    name="local_labour_market_monthly",
    title="Local labour market, monthly",
    description="Claimants, payrolled employees, pay, further education starts and employers by local authority "
    "district and month.",
    grain=("month", "local_authority_code"),
)
SECTOR_REGION_MONTHLY = Product(
    name="sector_region_monthly",
    title="Sector by region, monthly",
    description="Workplace-based payrolled employees, pay, employers, business births and deaths by region, "
    "SIC 2007 section and month.",
    grain=("month", "region", "sic_section"),
)
CLAIMANT_EMPLOYMENT_OUTCOMES = Product(
    name="claimant_employment_outcomes",
    title="Employment outcomes of new Universal Credit claimants",
    description="Share of each monthly cohort of new claimants in payrolled work 3 and 6 months later, by "
    "region, age band and disability.",
    grain=("cohort_month", "region", "age_band", "disability"),
    follow_up_months=(3, 6),
)
SKILLS_EMPLOYMENT_OUTCOMES = Product(
    name="skills_employment_outcomes",
    title="Employment outcomes of further education completers",
    description="Share of completers in payrolled work 6 months after completing, by region, sector subject "
    "area and National Skills Fund funding.",
    grain=("completion_month", "region", "ssa_tier1", "nsf_funded"),
    follow_up_months=(6,),
)

PRODUCTS: tuple[Product, ...] = (
    LOCAL_LABOUR_MARKET_MONTHLY,
    SECTOR_REGION_MONTHLY,
    CLAIMANT_EMPLOYMENT_OUTCOMES,
    SKILLS_EMPLOYMENT_OUTCOMES,
)


#: Every follow-up offset any product's cohorts read (months after the cohort month).
FOLLOW_UP_MONTHS: tuple[int, ...] = tuple(sorted({m for p in PRODUCTS for m in p.follow_up_months}))
#: The source outcomes are observed in: a cohort's run reads its follow-up months of this table.
OUTCOME_SOURCE = "hmrc/paye_employments"


def follow_up_months_read(source_key: str, months: list[str]) -> list[str]:
    """Months of ``source_key`` a run for ``months`` reads besides the built ones (the cohorts' follow-ups)."""
    from trust_assets.lib.months import shift_month

    if source_key != OUTCOME_SOURCE:
        return []
    return sorted({shift_month(m, k) for m in months for k in FOLLOW_UP_MONTHS} - set(months))


def product(name: str) -> Product:
    for p in PRODUCTS:
        if p.name == name:
            return p
    raise KeyError(f"unknown product {name!r}; known: {', '.join(p.name for p in PRODUCTS)}")
