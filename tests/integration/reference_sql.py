"""An independent reference implementation of the four labour market data products, in plain DuckDB SQL.

Written from the product definitions (docs/products.md), not from the dbt models, so that comparing the two catches a
mistake in either. It reads the department Delta tables' current files directly (``DeltaTable.file_uris()`` ->
``read_parquet``) and the reference geography CSV, and builds one table per product, ``ref_<product>``, with the
mart's public columns and the ``sdc_`` support columns the disclosure rules need.

Readings of the definitions (docs/products.md; the test's docstring repeats them):

- Sources: the source row rules of docs/quality.md -- rows with a null ``person_id`` (or a null employer id on
  PAYE), a month that is not a first day, a claim or employment starting after its month, or an aim ending before
  it starts are dropped; claims (person x month) and aims (person x aim) with differing copies are all dropped; exact
  duplicate rows count once, except non-employing businesses (no key: identical rows may be two businesses, so
  they count as reported). An employer_id with several register rows uses its most recently born row.
- Geography: a source code is a current district's own code (``current-authority`` and ``lower-or-unitary``
  True), else one of a current district's ``former-gss-codes``, else an abolished authority whose ``replaced-by``
  chain is followed to a current district (a split, two codes, goes whole to the successor with the larger 2020
  population; tie: the first code). Anything else is not conformable and the row is dropped from every product,
  workplace-based and outcome products included.
- Sectors: ``upper(trim(sic_section))`` must be one of the 21 SIC sections, else the business is left out of both
  business products. ``ssa_tier1`` outside 1-15 is left out of skills_employment_outcomes; an unrecorded
  ``age_band`` is ``unknown``.
- In work in month m: at least one paye row with ``pay_gbp > 0`` in m. Only those rows are employments: a person's
  pay is their sum, and an employer "has a person in work" only through them.
- Alive in month m: ``birth_date`` null or <= the last day of m, and ``death_date`` null or >= the first day of m.
- sector_region_monthly places an employment by its employer's register row, when that row is alive in the
  month; employments at employers missing from (or left out of) the register fall out of this product only.
- Outcomes: a cohort member is a (person, cell) from the uc_claims rows of ``cohort_month`` whose
  ``claim_start_date`` falls in that month; a completer is a (person, cell) from an aim with ``actual_end_date``
  in the month and outcome completed/achieved. Follow-up work is looked up nationally. A follow-up month after
  the newest paye month makes that count, the rate, the median and the support columns null.
- Pay support: people = distinct contributing people; employers = distinct ``employer_id`` of their employments in
  the cell; total = their summed pay; top1/top2 = the two largest per-employer pay totals. All 0 where nobody
  contributes (the median is then null).
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
    select "local-authority-code" as code3, nullif(trim("gss-code"), '') as gss, "nice-name" as name, region,
           coalesce("current-authority" = 'True' and "lower-or-unitary" = 'True', false) as is_current,
           nullif(trim("replaced-by"), '') as replaced_by, nullif(trim("former-gss-codes"), '') as former_codes,
           try_cast("pop-2020" as double) as pop
    from read_csv({csv}, all_varchar = true, header = true)
),
-- one successor per abolished authority: the only one, or of a split the larger by 2020 population (tie: code)
successor as (
    select l.code3, s.code3 as next, count(*) over (partition by l.code3) > 1 as split,
           row_number() over (partition by l.code3 order by s.pop desc nulls last, s.code3) as pick
    from la as l, unnest(string_split(l.replaced_by, ',')) as r(code)
    join la as s on s.code3 = trim(r.code)
    where not l.is_current and l.replaced_by is not null
),
walk(gss, node, steps, split) as (
    select gss, code3, 0, false from la where gss is not null and not is_current
    union all
    select walk.gss, successor.next, walk.steps + 1, walk.split or successor.split
    from walk join successor on successor.code3 = walk.node and successor.pick = 1
    join la on la.code3 = walk.node
    where not la.is_current and walk.steps < 20
),
rules as (
    select gss as source_code, code3 as target, 1 as priority, 'current' as rule from la where is_current
    union all
    select trim(f.code), l.code3, 2, 'former_code'
    from la as l, unnest(string_split(l.former_codes, ',')) as f(code) where l.is_current
    union all
    select walk.gss, walk.node, 3, case when walk.split then 'split_larger_successor' else 'successor' end
    from walk join la on la.code3 = walk.node and la.is_current
)
select r.source_code, cur.gss as la_code, cur.name as la_name, cur.region, r.rule
from rules as r join la as cur on cur.code3 = r.target
qualify row_number() over (partition by r.source_code order by r.priority) = 1
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

create or replace table ref_sections as
select section from read_csv({sic_csv}, all_varchar = true, header = true);

-- source row rules (docs/quality.md): null ids, a month that is not a first day, a claim or employment starting
-- after its month, an aim ending before it starts, an unconformable district: the row is left out; exact copies
-- count once; claims (person x month) and aims (person x aim) with differing copies are all left out
create or replace table ref_uc as
with kept as (
    select distinct s.* replace (coalesce(s.age_band, 'unknown') as age_band), d.la_code, d.region
    from src_uc_claims as s
    join ref_districts as d on d.source_code = s.residence_la_code
    where s.person_id is not null and s.month = date_trunc('month', s.month)
      and (s.claim_start_date is null or s.claim_start_date < s.month + interval 1 month)
)
select * from kept
qualify count(*) over (partition by person_id, month) = 1;

-- employments: paye rows that put a person in work (pay > 0)
create or replace table ref_employments as
select s.person_id, s.employer_id, s.month, s.pay_gbp, d.la_code, d.region
from (select distinct * from src_paye_employments
      where person_id is not null and nullif(trim(employer_id), '') is not null
        and month = date_trunc('month', month)
        and (employment_start_date is null or employment_start_date < month + interval 1 month)) as s
join ref_districts as d on d.source_code = s.residence_la_code
where s.pay_gbp > 0;

create or replace table ref_aims as
with kept as (
    select distinct s.*, d.la_code, d.region
    from src_fe_learner_aims as s
    join ref_districts as d on d.source_code = s.residence_la_code
    where s.person_id is not null and (s.actual_end_date is null or s.actual_end_date >= s.start_date)
)
select * from kept
qualify count(*) over (partition by person_id, aim_id) = 1;

-- businesses: non-employing rows as reported (no key, so identical rows may be two businesses); employing rows
-- deduplicated to one per employer_id, the most recently born; only the 21 SIC sections count
create or replace table ref_businesses as
with register as (
    select * replace (upper(trim(sic_section)) as sic_section) from src_business_register
),
employing as (
    select distinct * from register where employer_id is not null
    qualify row_number() over (partition by employer_id order by birth_date desc nulls last) = 1
),
kept as (
    select * from employing
    union all
    select * from register where employer_id is null
)
select k.*, d.la_code, d.region
from kept as k
join ref_districts as d on d.source_code = k.workplace_la_code
where k.sic_section in (select section from ref_sections);

-- alive in a month: born before the next month starts (or birth unknown), not dead before it starts
create or replace table ref_alive as
select m.month, b.*
from ref_businesses as b join ref_months as m
  on (b.birth_date is null or b.birth_date <= m.month_end) and (b.death_date is null or b.death_date >= m.month);

-- newest paye month: follow-ups after it are not observable
create or replace table ref_newest_paye as select max(month) as month from ref_employments;

-- a person's pay per employer per month
create or replace table ref_person_employer_pay as
select person_id, employer_id, month, sum(pay_gbp) as pay from ref_employments group by all;
"""


def _pay_support(people_sql: str, keys: str) -> str:
    """CTEs ending in ``pay_stats``: the median and its sdc_ support figures per cell.

    ``people_sql`` yields (``keys``..., person_id, employer_id, pay): one row per contributing person and
    employer in a cell; a person's pay in the cell is the sum over their employers there.
    """
    return f"""
    contrib as ({people_sql}),
    person_pay as (select {keys}, person_id, sum(pay) as pay from contrib group by all),
    employer_total as (select {keys}, employer_id, sum(pay) as pay from contrib group by all),
    employer_pay as (
        select *, row_number() over (partition by {keys} order by pay desc) as rk from employer_total
    ),
    pay_stats as (
        select p.*, e.employers, e.top1, e.top2
        from (select {keys}, median(pay) as median_pay, count(*) as people, sum(pay) as total
              from person_pay group by all) as p
        join (select {keys}, count(*) as employers, max(pay) filter (rk = 1) as top1,
                     coalesce(max(pay) filter (rk = 2), 0) as top2
              from employer_pay group by all) as e on {_same(keys, "p", "e")}
    )"""


def _same(keys: str, left: str, right: str) -> str:
    """Null-safe equality of two aliases on comma-separated ``keys`` (outcome dimensions can be null)."""
    return " and ".join(f"{left}.{k.strip()} is not distinct from {right}.{k.strip()}" for k in keys.split(","))


def _support_columns(stat: str, alias: str, when: str = "true") -> str:
    """The five sdc_ columns of ``stat``: 0 where nobody contributes, null where ``when`` is false."""
    roles = ("people", "employers", "total", "top1", "top2")
    return ",\n       ".join(f"case when {when} then coalesce({alias}.{r}, 0) end as sdc_{stat}_{r}" for r in roles)


_LOCAL = """
create or replace table ref_local_labour_market_monthly as
with grid as (
    select m.month, d.la_code, d.la_name, d.region from ref_months as m cross join ref_current_districts as d
),
uc as (
    select month, la_code, count(distinct person_id) as uc_claimants,
           count(distinct person_id) filter (conditionality_regime = 'searching_for_work') as searching
    from ref_uc group by all
),
""" + _pay_support("select month, la_code, person_id, employer_id, pay_gbp as pay from ref_employments",
                   "month, la_code") + """,
starts as (
    select m.month, a.la_code, count(distinct a.aim_id) as starts
    from ref_aims as a join ref_months as m on a.start_date between m.month and m.month_end group by all
),
employing as (
    select a.month, a.la_code, count(distinct a.employer_id) as employers
    from ref_alive as a
    where a.employer_id is not null
      and exists (select 1 from ref_person_employer_pay as e where e.employer_id = a.employer_id and e.month = a.month)
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
       """ + _support_columns("median_monthly_pay", "p") + """
from grid as g
left join uc using (month, la_code)
left join pay_stats as p using (month, la_code)
left join starts using (month, la_code)
left join employing using (month, la_code)
left join births using (month, la_code)
"""

# Workplace-based: a person's employment is placed by its employer's (deduplicated) register row, alive that month;
# employments at employers missing from the register or excluded from it fall out of this product only.
_SECTOR = """
create or replace table ref_sector_region_monthly as
with grid as (
    select m.month, r.region, s.section as sic_section
    from ref_months as m
    cross join (select distinct region from ref_current_districts) as r
    cross join ref_sections as s
),
""" + _pay_support(
    "select a.month, a.region, a.sic_section, e.person_id, e.employer_id, e.pay "
    "from ref_person_employer_pay as e join ref_alive as a using (month, employer_id)",
    "month, region, sic_section") + """,
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
       coalesce(p.employers, 0) as employer_businesses,
       coalesce(births.births, 0) as business_births,
       coalesce(deaths.deaths, 0) as business_deaths,
       """ + _support_columns("median_monthly_pay", "p") + """
from grid as g
left join pay_stats as p using (month, region, sic_section)
left join births using (month, region, sic_section)
left join deaths using (month, region, sic_section)
"""


def _outcomes(table: str, members_sql: str, month_col: str, dims: tuple[str, ...], count_col: str,
              follow_ups: tuple[int, ...]) -> str:
    """SQL for an outcomes product: members (month, dims, person_id) followed up ``follow_ups`` months later.

    The last follow-up also carries the median pay; a follow-up month after the newest paye month is unobservable.
    """
    keys = ", ".join((month_col, *dims))
    last = max(follow_ups)

    def month_plus(n: int, alias: str = "m") -> str:
        return f"cast({alias}.{month_col} + interval {n} month as date)"

    joins = "\n    ".join(
        f"left join in_work as w{n} on w{n}.person_id = m.person_id and w{n}.month = {month_plus(n)}"
        for n in follow_ups)
    counts = ",\n           ".join(
        f"count(distinct m.person_id) filter (w{n}.person_id is not null) as in_work_{n}m" for n in follow_ups)
    seen = ",\n           ".join(
        f"{month_plus(n, 'cells')} <= (select month from ref_newest_paye) as seen_{n}m" for n in follow_ups)
    outcome_cols = ",\n       ".join(f"case when o.seen_{n}m then o.in_work_{n}m end as in_work_{n}m"
                                      for n in follow_ups)
    return f"""
create or replace table {table} as
with members as ({members_sql}),
in_work as (select distinct person_id, month from ref_person_employer_pay),
cells as (
    select {", ".join("m." + k for k in (month_col, *dims))}, count(distinct m.person_id) as members,
           {counts}
    from members as m
    {joins}
    group by all
),
""" + _pay_support(
        f"select m.{month_col}, {', '.join('m.' + d for d in dims)}, m.person_id, e.employer_id, e.pay "
        f"from (select distinct {keys}, person_id from members) as m "
        f"join ref_person_employer_pay as e on e.person_id = m.person_id and e.month = {month_plus(last)}",
        keys) + f""",
observable as (
    select cells.*, {seen}
    from cells
)
select {", ".join("o." + k for k in (month_col, *dims))}, o.members as {count_col},
       {outcome_cols},
       case when o.seen_{last}m then o.in_work_{last}m / o.members end as in_work_{last}m_rate,
       case when o.seen_{last}m then p.median_pay end as median_pay_{last}m,
       {_support_columns(f"median_pay_{last}m", "p", f"o.seen_{last}m")}
from observable as o left join pay_stats as p on {_same(keys, "p", "o")}
"""


_CLAIMANTS = _outcomes(
    "ref_claimant_employment_outcomes",
    "select u.month as cohort_month, u.region, u.age_band, u.disability, u.person_id from ref_uc as u "
    "join ref_months as m on u.month = m.month where u.claim_start_date between m.month and m.month_end",
    "cohort_month", ("region", "age_band", "disability"), "cohort_claimants", (3, 6))

_SKILLS = _outcomes(
    "ref_skills_employment_outcomes",
    "select m.month as completion_month, a.region, a.ssa_tier1, a.nsf_funded, a.person_id from ref_aims as a "
    "join ref_months as m on a.actual_end_date between m.month and m.month_end "
    "where a.outcome in ('completed', 'achieved') and a.ssa_tier1 between 1 and 15",
    "completion_month", ("region", "ssa_tier1", "nsf_funded"), "completers", (6,))


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
    con.execute(_CLEAN.format(months=month_list, sic_csv=sic_csv))
    con.execute(_LOCAL)
    con.execute(_SECTOR)
    con.execute(_CLAIMANTS)
    con.execute(_SKILLS)
    return dict(REFERENCE_TABLES)


def reference_frames(con) -> Mapping[str, object]:
    """The built reference tables as pandas DataFrames, by product."""
    return {product: con.sql(f"select * from {table}").df() for product, table in REFERENCE_TABLES.items()}
