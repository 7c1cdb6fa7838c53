"""The floor: each product for one month as a single DuckDB query over the pinned parquet files.

This is the least work that computes the products' definitions (docs/products.md) on this machine: the same
engine the pipeline uses, the same files (those the Delta log lists for the latest version), the same
deduplication, source row rules and conformance, but no dbt, no Dagster, no tests, no audit, no disclosure
control, no hidden ``sdc_*`` columns, no exclusion counts and no Delta commit. What the pipeline costs beyond this
is the price of its guarantees. tests/dbt/test_bench_products.py holds it equal to the marts, cell by cell.

Two floors: one query per product (each screens the rows it reads, so PAYE is screened once per product), and the
shared floor (``shared=True``): one script that screens each source once into temporary tables and computes every
product from them, as a careful analyst would by hand, the best single-machine figure the bench knows.
"""

from __future__ import annotations

import pyarrow as pa

from trust_assets.bench.reference import Reference, reference
from trust_assets.lib.months import month_bounds
from trust_assets.lib.paths import TrustPaths
from trust_assets.lib.registry.sources import (
    BUSINESS_REGISTER,
    FE_LEARNER_AIMS,
    PAYE_EMPLOYMENTS,
    UC_CLAIMS,
    SourceTable,
)

#: View name in the floor's queries -> the department table it reads.
SOURCES: dict[str, SourceTable] = {"uc": UC_CLAIMS, "paye": PAYE_EMPLOYMENTS, "aims": FE_LEARNER_AIMS,
                                   "biz": BUSINESS_REGISTER}


def _in(column: str, month: str, offset: int = 0) -> str:
    lo, hi = month_bounds(month, offset)
    return f"({column} >= date '{lo}' and {column} < date '{hi}')"


def _next_month(column: str) -> str:
    return f"(date_trunc('month', {column}) + interval 1 month)"


def _screened(rows: str, passes: str, key: str | None) -> str:
    """Distinct rows that pass every source row rule, less versions that conflict on ``key`` (the marts'
    int_*_screened views: a person with two differing rows for one key is excluded, not guessed at)."""
    if key is None:
        return f"select * from ({rows}) as distinct_rows where {passes}"
    return f"""select * exclude (versions) from (
            select *, count(*) over (partition by {key}) as versions
            from ({rows}) as distinct_rows
            where {passes}
        ) where versions = 1"""


def _paye(where: str) -> str:
    """PAYE rows as the products use them (int_employments_screened): one copy of each row, ids present, month a
    month start, pay not negative, started by the month, residence conformable. Differing rows for one person,
    employer and month are kept (two employments with one employer: their pay is summed)."""
    rows = f"""select distinct person_id, trim(employer_id) as employer_id, month, pay_gbp,
            upper(trim(residence_la_code)) as code, employment_start_date
        from paye where {where}"""
    passes = f"""person_id is not null and employer_id is not null and employer_id <> ''
            and month = date_trunc('month', month) and not coalesce(pay_gbp < 0, false)
            and not coalesce(employment_start_date >= {_next_month('month')}, false)
            and code in (select code from codes)"""
    return _screened(rows, passes, None)


def _claims(where: str) -> str:
    """UC rows as the products use them (int_uc_claims_screened)."""
    rows = f"""select distinct person_id, month, upper(trim(residence_la_code)) as code, trim(age_band) as age_band,
            upper(trim(sex)) as sex, disability, lower(trim(conditionality_regime)) as regime, claim_start_date
        from uc where {where}"""
    passes = f"""person_id is not null and month = date_trunc('month', month)
            and not coalesce(claim_start_date >= {_next_month('month')}, false)
            and code in (select code from codes)"""
    return _screened(rows, passes, "month, person_id")


#: Learning aims as the products use them (int_learner_aims_screened); versions conflict on (person, aim) across
#: all dates, so aims are screened whole before a month is picked.
AIMS = _screened(
    """select distinct person_id, aim_id, start_date, planned_end_date, actual_end_date,
            lower(trim(outcome)) as outcome, ssa_tier1, trim(level) as level,
            upper(trim(residence_la_code)) as code, nsf_funded
        from aims""",
    """person_id is not null and not coalesce(actual_end_date < start_date, false)
            and code in (select code from codes)""",
    "person_id, aim_id")


#: Business rows as the products count them: employing rows once, non-employing rows as reported, and each
#: employer's record (the one born last) for linking PAYE without fan-out.
BUSINESSES = """
biz_rows as (
    select trim(employer_id) as employer_id, upper(trim(sic_section)) as sic, trim(sic_division) as division,
        upper(trim(workplace_la_code)) as code, trim(size_band) as size_band, birth_date, death_date
    from biz
),
businesses as (
    select distinct * from biz_rows where employer_id is not null
    union all
    select * from biz_rows where employer_id is null
),
employer_records as (
    select * from businesses where employer_id is not null
    qualify row_number() over (partition by employer_id order by birth_date desc nulls last,
        death_date desc nulls first, sic, code, division, size_band) = 1
)"""


class Screens:
    """How a floor query reads screened source rows: inline, each query screening what it reads (the per-product
    floor: PAYE is read and screened once per product that uses it)."""

    businesses = BUSINESSES
    aims = AIMS

    def paye(self, where: str) -> str:
        return _paye(where)

    def claims(self, where: str) -> str:
        return _claims(where)

    def prepare(self, con, month: str) -> None:
        """Work done once before the product queries (none inline)."""


class SharedScreens(Screens):
    """The careful analyst's script: every source screened once into a temporary table (PAYE for the month and
    the cohorts' follow-up months, UC claims for the month, learning aims, the business register), then every
    product selects from those tables. Same rows as inline, so the same products."""

    businesses = """
businesses as (select * from shared_businesses),
employer_records as (select * from shared_employer_records)"""
    aims = "select * from shared_aims"

    def paye(self, where: str) -> str:
        return f"select * from shared_paye where {where}"

    def claims(self, where: str) -> str:
        return f"select * from shared_claims where {where}"

    def prepare(self, con, month: str) -> None:
        months = " or ".join(_in("month", month, k) for k in (0, *FOLLOW_UPS))
        con.execute(f"create temp table shared_paye as {_paye(f'({months})')}")
        con.execute(f"create temp table shared_claims as {_claims(_in('month', month))}")
        con.execute(f"create temp table shared_aims as {AIMS}")
        con.execute(f"create temp table shared_businesses as with {BUSINESSES} select * from businesses")
        con.execute("create temp table shared_employer_records as select * from shared_businesses "
                    "where employer_id is not null qualify row_number() over (partition by employer_id order by "
                    "birth_date desc nulls last, death_date desc nulls first, sic, code, division, size_band) = 1")


INLINE = Screens()
SHARED = SharedScreens()
#: Follow-up months (after the cohort month) the outcome products read payroll at.
FOLLOW_UPS = (3, 6)


def _alive(month: str, birth: str = "birth_date", death: str = "death_date") -> str:
    lo, hi = month_bounds(month)
    return f"({birth} is null or {birth} < date '{hi}') and ({death} is null or {death} >= date '{lo}')"


def local_labour_market_sql(month: str, screens: Screens | None = None) -> str:
    s = screens or INLINE
    lo, _ = month_bounds(month)
    return f"""
with
employments as ({s.paye(_in('month', month))}),
{s.businesses},
claimants as (
    select c.la, count(distinct u.person_id) as uc_claimants,
        count(distinct case when u.regime = 'searching_for_work' then u.person_id end)
            as uc_claimants_searching_for_work
    from ({s.claims(_in('month', month))}) as u join codes as c using (code)
    group by c.la
),
people as (
    select c.la, e.person_id, sum(e.pay_gbp) as pay
    from employments as e join codes as c using (code)
    where e.pay_gbp > 0
    group by c.la, e.person_id
),
pay as (select la, count(*) as payrolled_employees, median(pay) as median_monthly_pay from people group by la),
starts as (
    select c.la, count(distinct a.aim_id) as fe_learner_starts
    from ({s.aims}) as a join codes as c using (code)
    where {_in('a.start_date', month)}
    group by c.la
),
employers as (
    select c.la, count(distinct r.employer_id) as employer_businesses
    from employer_records as r join codes as c using (code)
    where r.sic in (select sic from sections) and {_alive(month, 'r.birth_date', 'r.death_date')}
        and r.employer_id in (select employer_id from employments where pay_gbp > 0)
    group by c.la
),
births as (
    select c.la, count(*) as business_births
    from businesses as b join codes as c using (code)
    where {_in('b.birth_date', month)} and b.sic in (select sic from sections)
    group by c.la
)
select date '{lo}' as month, d.la as local_authority_code, d.la_name as local_authority_name, d.region,
    coalesce(cl.uc_claimants, 0) as uc_claimants,
    coalesce(cl.uc_claimants_searching_for_work, 0) as uc_claimants_searching_for_work,
    coalesce(p.payrolled_employees, 0) as payrolled_employees, p.median_monthly_pay,
    coalesce(s.fe_learner_starts, 0) as fe_learner_starts,
    coalesce(e.employer_businesses, 0) as employer_businesses, coalesce(b.business_births, 0) as business_births
from districts as d
left join claimants as cl using (la) left join pay as p using (la) left join starts as s using (la)
left join employers as e using (la) left join births as b using (la)
order by local_authority_code"""


def sector_region_sql(month: str, screens: Screens | None = None) -> str:
    s = screens or INLINE
    lo, _ = month_bounds(month)
    return f"""
with
employments as ({s.paye(_in('month', month))}),
{s.businesses},
placed as (
    select c.region, r.sic, e.person_id, e.employer_id, e.pay_gbp
    from employments as e
    join employer_records as r using (employer_id)
    join codes as c on r.code = c.code
    where e.pay_gbp > 0 and r.sic in (select sic from sections)
        and {_alive(month, 'r.birth_date', 'r.death_date')}
),
people as (select region, sic, person_id, sum(pay_gbp) as pay from placed group by all),
pay as (
    select region, sic, count(*) as payrolled_employees, median(pay) as median_monthly_pay
    from people group by region, sic
),
employers as (select region, sic, count(distinct employer_id) as employer_businesses from placed group by all),
births as (
    select c.region, b.sic, count(*) as business_births
    from businesses as b join codes as c using (code)
    where {_in('b.birth_date', month)} and b.sic in (select sic from sections)
    group by all
),
deaths as (
    select c.region, b.sic, count(*) as business_deaths
    from businesses as b join codes as c using (code)
    where {_in('b.death_date', month)} and b.sic in (select sic from sections)
    group by all
)
select date '{lo}' as month, g.region, g.sic as sic_section,
    coalesce(p.payrolled_employees, 0) as payrolled_employees, p.median_monthly_pay,
    coalesce(e.employer_businesses, 0) as employer_businesses, coalesce(b.business_births, 0) as business_births,
    coalesce(d.business_deaths, 0) as business_deaths
from (select distinct d.region, s.sic from districts as d cross join sections as s) as g
left join pay as p on p.region = g.region and p.sic = g.sic
left join employers as e on e.region = g.region and e.sic = g.sic
left join births as b on b.region = g.region and b.sic = g.sic
left join deaths as d on d.region = g.region and d.sic = g.sic
order by g.region, g.sic"""


def _outcomes(cells: str, cohort_sql: str, offsets: tuple[int, ...], month: str, count_name: str,
              screens: Screens) -> str:
    """Cohort counts plus in-work follow-ups (null while HMRC has no data for the follow-up month)."""
    follow = " or ".join(_in("month", month, k) for k in offsets)
    keys = [c.strip() for c in cells.split(",")]
    on = " and ".join(f"o.{k} is not distinct from w.{k}" for k in keys)
    parts = [f"""
with
cohort as ({cohort_sql}),
follow_up as ({screens.paye(f'({follow})')}),
newest as (select max(month) as month from paye where {follow}),
counts as (select {cells}, count(distinct person_id) as {count_name} from cohort group by all)"""]
    for k in offsets:
        lo, _ = month_bounds(month, k)
        parts.append(f""",
people_{k} as (
    select person_id, sum(pay_gbp) as pay from follow_up
    where {_in('month', month, k)} and pay_gbp > 0 group by person_id
),
work_{k} as (
    select {cells}, count(*) as in_work, median(pay) as median_pay
    from cohort join people_{k} using (person_id) group by all
),
seen_{k} as (select coalesce(date '{lo}' <= month, false) as observable from newest)""")
    select = [f"o.{k}" for k in keys] + [f"o.{count_name}"]
    joins = []
    for k in offsets:
        select.append(f"case when seen_{k}.observable then coalesce(w{k}.in_work, 0) end as in_work_{k}m")
        joins.append(f"left join work_{k} as w{k} on {on.replace('w.', f'w{k}.')} cross join seen_{k}")
    last = offsets[-1]
    select.append(f"case when seen_{last}.observable then coalesce(w{last}.in_work, 0) / {count_name} end "
                  f"as in_work_{last}m_rate")
    select.append(f"case when seen_{last}.observable then w{last}.median_pay end as median_pay_{last}m")
    return "".join(parts) + f"\nselect {', '.join(select)}\nfrom counts as o\n" + "\n".join(joins) + \
        f"\norder by {', '.join(f'o.{k}' for k in keys)}"


def claimant_outcomes_sql(month: str, screens: Screens | None = None) -> str:
    s = screens or INLINE
    lo, _ = month_bounds(month)
    cohort = f"""select distinct date '{lo}' as cohort_month, c.region,
            coalesce(u.age_band, 'unknown') as age_band, u.disability, u.person_id
        from ({s.claims(_in('month', month))}) as u join codes as c using (code)
        where {_in('u.claim_start_date', month)}"""
    return _outcomes("cohort_month, region, age_band, disability", cohort, (3, 6), month, "cohort_claimants", s)


def skills_outcomes_sql(month: str, screens: Screens | None = None) -> str:
    s = screens or INLINE
    lo, _ = month_bounds(month)
    cohort = f"""select distinct date '{lo}' as completion_month, c.region, a.ssa_tier1, a.nsf_funded, a.person_id
        from ({s.aims}) as a join codes as c using (code)
        where {_in('a.actual_end_date', month)} and a.outcome in ('completed', 'achieved')
            and a.ssa_tier1 in (select ssa_tier1 from subject_areas)"""
    return _outcomes("completion_month, region, ssa_tier1, nsf_funded", cohort, (6,), month, "completers", s)


QUERIES = {
    "local_labour_market_monthly": local_labour_market_sql,
    "sector_region_monthly": sector_region_sql,
    "claimant_employment_outcomes": claimant_outcomes_sql,
    "skills_employment_outcomes": skills_outcomes_sql,
}


def reference_tables(ref: Reference) -> dict[str, pa.Table]:
    """The small lookup relations every floor query joins (registered with DuckDB as Arrow tables)."""
    return {
        "codes": pa.table({"code": list(ref.conformed), "la": [d.code for d in ref.conformed.values()],
                           "region": [d.region for d in ref.conformed.values()]}),
        "districts": pa.table({"la": [d.code for d in ref.districts], "la_name": [d.name for d in ref.districts],
                               "region": [d.region for d in ref.districts]}),
        "sections": pa.table({"sic": list(ref.sic_sections)}),
        "subject_areas": pa.table({"ssa_tier1": pa.array(ref.ssa_tier1, pa.int32())}),
    }


def source_files(paths: TrustPaths) -> dict[str, tuple[str, ...]]:
    """View name -> the parquet files the Delta log lists for each source's latest version."""
    from trust_assets.lib.sources.delta_pins import pin

    return {name: pin(t, str(paths.source_table(t.dept, t.table))).files for name, t in SOURCES.items()}


def floor_products(paths: TrustPaths, month: str, threads: int | None = None,
                   shared: bool = False) -> dict[str, pa.Table]:
    """Every product for ``month`` (``YYYY-MM``), one DuckDB query each, over the pinned parquet files; with
    ``shared``, one script that screens each source once (SharedScreens) and computes every product from that."""
    import duckdb

    screens = SHARED if shared else INLINE
    con = duckdb.connect()
    if threads:
        con.execute(f"set threads = {int(threads)}")
    for name, table in reference_tables(reference()).items():
        con.register(name, table)
    for name, files in source_files(paths).items():
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        if not files:
            raise ValueError(f"source {SOURCES[name].key} has no data files under {paths.departments}")
        con.execute(f"create view {name} as select * from read_parquet([{listed}], union_by_name = true)")
    try:
        screens.prepare(con, month)
        return {product: con.sql(sql(month, screens)).to_arrow_table() for product, sql in QUERIES.items()}
    finally:
        con.close()
