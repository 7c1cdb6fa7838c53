"""An independent reference implementation of the four labour market data products, in plain DuckDB SQL.

Written from the product definitions (issue 3 item 8), not from the dbt models, so that comparing the two catches a
mistake in either. It reads the department Delta tables' current files directly (``DeltaTable.file_uris()`` ->
``read_parquet``) and the reference geography CSV, and builds one table per product, ``ref_<product>``, with the
mart's public columns and the ``sdc_`` support columns the disclosure rules need.

Readings of the definitions (where they leave room, the choice is written here and in the test's docstring):

- Sources: rows with a null ``person_id`` are dropped (uc_claims, paye_employments, fe_learner_aims); exact
  duplicate rows count once (``select distinct *``), in every source including the business register.
- Geography: a source district code is looked up by GSS code; a current district (``current-authority`` and
  ``lower-or-unitary`` both True) is itself, an abolished one follows ``replaced-by`` (one successor; a
  comma-separated pair is a split and cannot be conformed) until a current district. A code that reaches no current
  district is not conformable and its rows are dropped from every product, outcomes included.
- In work in month m: at least one paye row with ``pay_gbp > 0`` in m. Only those rows are employments: a person's
  pay is the sum of them, and an employer "has a person in work" only through them.
- A person's residence for payrolled employees is the conformed ``residence_la_code`` of their paye rows that month;
  a person with rows in two districts would count once in each (the data has none).
- Businesses are rows of the register; an employing business is one with an ``employer_id``. Alive in month m:
  ``birth_date <= last day of m`` and (``death_date`` null or ``death_date >= first day of m``).
- sector_region_monthly: a person works in a (region, section) cell through a paye employment whose ``employer_id``
  is a business of that workplace region and SIC section in the register, alive in the month; pay in the cell is
  the sum over those employments. employer_businesses, births and deaths count register rows.
- Outcomes: a cohort member is a (person, cell) from the uc_claims rows of ``cohort_month`` whose
  ``claim_start_date`` falls in that month; a completer is a (person, cell) from an aim with
  ``actual_end_date`` in the month and outcome completed/achieved. Follow-up work is looked up nationally (any
  residence). A follow-up month after the newest paye month makes the count, rate, median and support null.
- Pay support: people = distinct contributing people; employers = distinct ``employer_id`` of their employments in
  the cell; total = their summed pay; top1/top2 = the two largest per-employer pay totals (top2 = 0 with one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

#: The tables this module builds, one per product.
REFERENCE_TABLES = {
    "local_labour_market_monthly": "ref_local_labour_market_monthly",
    "sector_region_monthly": "ref_sector_region_monthly",
    "claimant_employment_outcomes": "ref_claimant_employment_outcomes",
    "skills_employment_outcomes": "ref_skills_employment_outcomes",
}

#: Source views: name -> department Delta table (dept/table).
SOURCE_VIEWS = {
    "src_uc_claims": "dwp/uc_claims",
    "src_paye_employments": "hmrc/paye_employments",
    "src_fe_learner_aims": "dfe/fe_learner_aims",
    "src_business_register": "beis/business_register",
}

_GEOGRAPHY = """
create or replace table ref_districts as
with recursive la as (
    select "local-authority-code" as code3, "gss-code" as gss, "nice-name" as name, region,
           coalesce("current-authority" = 'True' and "lower-or-unitary" = 'True', false) as is_current,
           nullif(trim("replaced-by"), '') as replaced_by
    from read_csv({csv}, all_varchar = true, header = true)
),
chain(gss, node, steps) as (
    select gss, code3, 0 from la where gss is not null
    union all
    select chain.gss, la.replaced_by, chain.steps + 1
    from chain join la on la.code3 = chain.node
    where not la.is_current and la.replaced_by is not null and la.replaced_by not like '%,%' and chain.steps < 20
)
select chain.gss as source_code, cur.gss as la_code, cur.name as la_name, cur.region
from chain join la as cur on cur.code3 = chain.node and cur.is_current
"""

_CURRENT = """
create or replace table ref_current_districts as
select "gss-code" as la_code, "nice-name" as la_name, region
from read_csv({csv}, all_varchar = true, header = true)
where "current-authority" = 'True' and "lower-or-unitary" = 'True'
"""

_CLEAN = """
create or replace table ref_months as
select cast(m as date) as month, cast(m + interval 1 month - interval 1 day as date) as month_end
from unnest(cast({months} as date[])) as t(m);

create or replace table ref_uc as
select s.*, d.la_code, d.region
from (select distinct * from src_uc_claims where person_id is not null) as s
join ref_districts as d on d.source_code = s.residence_la_code;

-- employments: paye rows that put a person in work (pay > 0)
create or replace table ref_employments as
select s.person_id, s.employer_id, s.month, s.pay_gbp, d.la_code, d.region
from (select distinct * from src_paye_employments where person_id is not null) as s
join ref_districts as d on d.source_code = s.residence_la_code
where s.pay_gbp > 0;

create or replace table ref_aims as
select s.*, d.la_code, d.region
from (select distinct * from src_fe_learner_aims where person_id is not null) as s
join ref_districts as d on d.source_code = s.residence_la_code;

create or replace table ref_businesses as
select s.*, d.la_code, d.region
from (select distinct * from src_business_register) as s
join ref_districts as d on d.source_code = s.workplace_la_code;

-- newest paye month: follow-ups after it are not observable
create or replace table ref_newest_paye as select max(month) as month from ref_employments;

-- a person's pay per employer per month, and in total
create or replace table ref_person_employer_pay as
select person_id, employer_id, month, sum(pay_gbp) as pay from ref_employments group by all;
"""


def _pay_support(prefix: str, people_sql: str, keys: str) -> str:
    """SQL for the pay statistic and its sdc_ support columns per cell.

    ``people_sql`` yields (``keys``..., person_id, employer_id, pay): one row per contributing person and
    employer in a cell; a person's pay in the cell is the sum over their employers there.
    """
    return f"""
    contrib as ({people_sql}),
    person_pay as (select {keys}, person_id, sum(pay) as pay from contrib group by all),
    employer_pay as (select {keys}, employer_id, sum(pay) as pay from contrib group by all),
    employer_rank as (
        select {keys}, pay, row_number() over (partition by {keys} order by pay desc) as rk from employer_pay
    ),
    {prefix}_stats as (
        select p.*, e.employers, t.top1, coalesce(t.top2, 0) as top2
        from (select {keys}, median(pay) as median_pay, count(*) as people, sum(pay) as total
              from person_pay group by all) as p
        join (select {keys}, count(distinct employer_id) as employers from contrib group by all) as e using ({keys})
        join (select {keys}, max(pay) filter (rk = 1) as top1, max(pay) filter (rk = 2) as top2
              from employer_rank group by all) as t using ({keys})
    )"""


_LOCAL = """
create or replace table ref_local_labour_market_monthly as
with grid as (
    select m.month, m.month_end, d.la_code, d.la_name, d.region from ref_months as m cross join ref_current_districts as d
),
uc as (
    select month, la_code, count(distinct person_id) as uc_claimants,
           count(distinct person_id) filter (conditionality_regime = 'searching_for_work') as searching
    from ref_uc group by all
),
""" + _pay_support("pay", "select month, la_code, person_id, employer_id, pay_gbp as pay from ref_employments",
                   "month, la_code") + """,
starts as (
    select m.month, a.la_code, count(distinct a.aim_id) as starts
    from ref_aims as a join ref_months as m on a.start_date between m.month and m.month_end group by all
),
employing as (
    select m.month, b.la_code, count(*) as employers
    from ref_businesses as b join ref_months as m
      on b.birth_date <= m.month_end and (b.death_date is null or b.death_date >= m.month)
    where b.employer_id is not null
      and exists (select 1 from ref_employments as e where e.employer_id = b.employer_id and e.month = m.month)
    group by all
),
births as (
    select m.month, b.la_code, count(*) as births
    from ref_businesses as b join ref_months as m on b.birth_date between m.month and m.month_end group by all
)
select g.month, g.la_code as local_authority_code, g.la_name as local_authority_name, g.region,
       coalesce(uc.uc_claimants, 0) as uc_claimants,
       coalesce(uc.searching, 0) as uc_claimants_searching_for_work,
       coalesce(p.people, 0) as payrolled_employees,
       p.median_pay as median_monthly_pay,
       coalesce(starts.starts, 0) as fe_learner_starts,
       coalesce(employing.employers, 0) as employer_businesses,
       coalesce(births.births, 0) as business_births,
       p.people as sdc_median_monthly_pay_people, p.employers as sdc_median_monthly_pay_employers,
       p.total as sdc_median_monthly_pay_total, p.top1 as sdc_median_monthly_pay_top1,
       p.top2 as sdc_median_monthly_pay_top2
from grid as g
left join uc using (month, la_code)
left join pay_stats as p using (month, la_code)
left join starts using (month, la_code)
left join employing using (month, la_code)
left join births using (month, la_code)
"""

_SECTOR = """
create or replace table ref_sector_region_monthly as
with grid as (
    select m.month, m.month_end, r.region, s.section as sic_section
    from ref_months as m
    cross join (select distinct region from ref_current_districts) as r
    cross join (select section from read_csv({sic_csv}, all_varchar = true, header = true)) as s
),
alive as (
    select m.month, b.region, b.sic_section, b.employer_id
    from ref_businesses as b join ref_months as m
      on b.birth_date <= m.month_end and (b.death_date is null or b.death_date >= m.month)
    where b.employer_id is not null
),
""" + _pay_support(
    "pay",
    "select a.month, a.region, a.sic_section, e.person_id, e.employer_id, e.pay "
    "from ref_person_employer_pay as e join alive as a using (month, employer_id)",
    "month, region, sic_section") + """,
employing as (
    select month, region, sic_section, count(distinct employer_id) as employers from contrib group by all
),
births as (
    select m.month, b.region, b.sic_section, count(*) as births
    from ref_businesses as b join ref_months as m on b.birth_date between m.month and m.month_end group by all
),
deaths as (
    select m.month, b.region, b.sic_section, count(*) as deaths
    from ref_businesses as b join ref_months as m on b.death_date between m.month and m.month_end group by all
)
select g.month, g.region, g.sic_section,
       coalesce(p.people, 0) as payrolled_employees,
       p.median_pay as median_monthly_pay,
       coalesce(employing.employers, 0) as employer_businesses,
       coalesce(births.births, 0) as business_births,
       coalesce(deaths.deaths, 0) as business_deaths,
       p.people as sdc_median_monthly_pay_people, p.employers as sdc_median_monthly_pay_employers,
       p.total as sdc_median_monthly_pay_total, p.top1 as sdc_median_monthly_pay_top1,
       p.top2 as sdc_median_monthly_pay_top2
from grid as g
left join pay_stats as p using (month, region, sic_section)
left join employing using (month, region, sic_section)
left join births using (month, region, sic_section)
left join deaths using (month, region, sic_section)
"""


def _outcomes(table: str, members_sql: str, month_col: str, dims: str, count_col: str) -> str:
    """SQL for an outcomes product: members (month, dims, person_id) followed up 3 and 6 months later."""
    keys = f"{month_col}, {dims}"
    return f"""
create or replace table {table} as
with members as ({members_sql}),
in_work as (select distinct person_id, month from ref_person_employer_pay),
cells as (
    select {', '.join('m.' + k.strip() for k in keys.split(','))},
           count(distinct m.person_id) as members,
           count(distinct m.person_id) filter (w3.person_id is not null) as in_work_3m,
           count(distinct m.person_id) filter (w6.person_id is not null) as in_work_6m
    from members as m
    left join in_work as w3 on w3.person_id = m.person_id
         and w3.month = cast(m.{month_col} + interval 3 month as date)
    left join in_work as w6 on w6.person_id = m.person_id
         and w6.month = cast(m.{month_col} + interval 6 month as date)
    group by all
),
""" + _pay_support(
        "pay",
        f"select distinct m.{month_col}, {', '.join('m.' + d.strip() for d in dims.split(','))}, m.person_id, "
        f"e.employer_id, e.pay from (select distinct {keys}, person_id from members) as m "
        f"join ref_person_employer_pay as e on e.person_id = m.person_id "
        f"and e.month = cast(m.{month_col} + interval 6 month as date)",
        keys) + f""",
observable as (
    select {keys}, members,
           cast({month_col} + interval 3 month as date) <= (select month from ref_newest_paye) as seen_3m,
           cast({month_col} + interval 6 month as date) <= (select month from ref_newest_paye) as seen_6m,
           in_work_3m, in_work_6m
    from cells
)
select {keys}, o.members as {count_col},
       case when o.seen_3m then o.in_work_3m end as in_work_3m,
       case when o.seen_6m then o.in_work_6m end as in_work_6m,
       case when o.seen_6m then o.in_work_6m / o.members end as in_work_6m_rate,
       case when o.seen_6m then p.median_pay end as median_pay_6m,
       case when o.seen_6m then p.people end as sdc_median_pay_6m_people,
       case when o.seen_6m then p.employers end as sdc_median_pay_6m_employers,
       case when o.seen_6m then p.total end as sdc_median_pay_6m_total,
       case when o.seen_6m then p.top1 end as sdc_median_pay_6m_top1,
       case when o.seen_6m then p.top2 end as sdc_median_pay_6m_top2
from observable as o left join pay_stats as p using ({keys})
"""


_CLAIMANTS = _outcomes(
    "ref_claimant_employment_outcomes",
    "select u.month as cohort_month, u.region, u.age_band, u.disability, u.person_id from ref_uc as u "
    "join ref_months as m on u.month = m.month where u.claim_start_date between m.month and m.month_end",
    "cohort_month", "region, age_band, disability", "cohort_claimants")

_SKILLS = _outcomes(
    "ref_skills_employment_outcomes",
    "select m.month as completion_month, a.region, a.ssa_tier1, a.nsf_funded, a.person_id from ref_aims as a "
    "join ref_months as m on a.actual_end_date between m.month and m.month_end "
    "where a.outcome in ('completed', 'achieved')",
    "completion_month", "region, ssa_tier1, nsf_funded", "completers")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def source_files(home: Path) -> dict[str, list[str]]:
    """The current data files of each department Delta table under a TRUST_HOME (read in place, latest version)."""
    from deltalake import DeltaTable

    from trust_assets.lib.paths import TrustPaths

    paths = TrustPaths(home)
    files = {}
    for view, key in SOURCE_VIEWS.items():
        dept, table = key.split("/")
        files[view] = DeltaTable(str(paths.source_table(dept, table))).file_uris()
    return files


def build_reference(con, home: Path, months: Iterable[str], *, reference_dir: Path | None = None) -> dict[str, str]:
    """Build ``ref_<product>`` tables in ``con`` for ``months`` (``YYYY-MM``); returns product -> table name.

    ``reference_dir`` holds uk_local_authorities.csv and sic2007_sections.csv (default: the dbt seeds folder,
    which ships the reference data unchanged).
    """
    from trust_assets.lib.paths import REFERENCE_DIR

    ref = reference_dir or REFERENCE_DIR
    la_csv = _quote(str(ref / "uk_local_authorities.csv"))
    sic_csv = _quote(str(ref / "sic2007_sections.csv"))
    month_list = "[" + ", ".join(_quote(f"{m}-01") for m in sorted(set(months))) + "]"
    if month_list == "[]":
        raise ValueError("build_reference needs at least one month")
    for view, files in source_files(home).items():
        con.execute(f"create or replace view {view} as select * from read_parquet([{', '.join(map(_quote, files))}])")
    con.execute(_GEOGRAPHY.format(csv=la_csv))
    con.execute(_CURRENT.format(csv=la_csv))
    con.execute(_CLEAN.format(months=month_list))
    con.execute(_LOCAL)
    con.execute(_SECTOR.format(sic_csv=sic_csv))
    con.execute(_CLAIMANTS)
    con.execute(_SKILLS)
    return dict(REFERENCE_TABLES)


def reference_frames(con) -> Mapping[str, object]:
    """The built reference tables as pandas DataFrames, by product."""
    return {product: con.sql(f"select * from {table}").df() for product, table in REFERENCE_TABLES.items()}
