{{ config(unique_key='month', pre_hook="{{ trust_delete_built_months('month') }}") }}
{#-
  Month x region (9 English regions and the 3 nations) x SIC 2007 section (21), zero-filled. Workplace-based:
  people and pay are placed by their employer's workplace district and section, so a person with jobs in two
  sectors counts in both and their pay in a cell sums their employments there.
-#}
with

regions as (

    select distinct region
    from {{ ref('stg_reference__local_authorities') }}
    where is_district

),

sections as (

    select sic_section from {{ ref('stg_reference__sic_sections') }}

),

months as (

    {{ trust_months_spine() }}

),

cells as (

    {#- the 12 x 21 cells, numbered: the person-level group-bys below key on this small integer, not on the region's
        name (30 M PAYE rows a month at national scale); the names are joined back once per cell in `final` -#}
    select
        row_number() over (order by r.region, s.sic_section) as cell_id,
        r.region,
        s.sic_section
    from regions as r
    cross join sections as s

),

employments as {{ trust_inlined() }} (

    {#- each employment record's workplace cell (the inner join to the cells is the not-null region and section).
        Inlined (trust_inlined): the pay statistics read it twice (people and employers), and DuckDB's stored copy
        of these 30 M rows spilled past the 12 GiB cap under TRUST_MEMORY_LIMIT=6GiB on a national first month;
        inlined it peaks at 3.5 GiB (docs/benchmarks.md, "Findings"). -#}
    select
        e.month,
        c.cell_id,
        e.person_id,
        e.employer_id,
        e.pay_gbp
    from {{ ref('int_employments_linked') }} as e
    inner join cells as c
        on e.workplace_region = c.region and e.employer_sic_section = c.sic_section
    where {{ trust_in_build_months('e.reported_month') }}
        -- placed by the employer's register record, so only while that business is alive
        and (e.employer_birth_date is null or e.employer_birth_date < {{ trust_months_after('e.month', 1) }})
        and (e.employer_death_date is null or e.employer_death_date >= e.month)

),

businesses_born as (

    select * from {{ ref('int_businesses_conformed') }}
    where {{ trust_in_build_months('birth_date') }}
        and region is not null
        and sic_section is not null

),

businesses_died as (

    select * from {{ ref('int_businesses_conformed') }}
    where {{ trust_in_build_months('death_date') }}
        and region is not null
        and sic_section is not null

),

{{ trust_pay_statistics('employments', ['month', 'cell_id'], 'median_monthly_pay') }},

birth_counts as (

    select
        birth_month as month,
        region,
        sic_section,
        count(*) as business_births
    from businesses_born
    group by birth_month, region, sic_section

),

death_counts as (

    select
        death_month as month,
        region,
        sic_section,
        count(*) as business_deaths
    from businesses_died
    group by death_month, region, sic_section

),

final as (

    select
        m.month,
        c.region,
        c.sic_section,
        coalesce(p.sdc_median_monthly_pay_people, 0) as payrolled_employees,
        p.median_monthly_pay,
        {#- an employer is active in a month when someone is paid by it then (pay > 0), and counts in its register
            record's cell: exactly the employers the pay statistics count (sdc_..._employers), since every screened
            PAYE row has a person and an employer, so the 30 M rows are not grouped a second time -#}
        coalesce(p.sdc_median_monthly_pay_employers, 0) as employer_businesses,
        coalesce(b.business_births, 0) as business_births,
        coalesce(d.business_deaths, 0) as business_deaths,
        {{ trust_sdc_columns('median_monthly_pay', 'p') }}
    from months as m
    cross join cells as c
    left join median_monthly_pay_by_cell as p
        on m.month = p.month and c.cell_id = p.cell_id
    left join birth_counts as b
        on m.month = b.month and c.region = b.region and c.sic_section = b.sic_section
    left join death_counts as d
        on m.month = d.month and c.region = d.region and c.sic_section = d.sic_section

)

select * from final
