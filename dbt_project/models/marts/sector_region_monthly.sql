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

employments as (

    select * from {{ ref('int_employments_linked') }}
    where {{ trust_in_build_months('reported_month') }}
        and workplace_region is not null
        and employer_sic_section is not null
        -- placed by the employer's register record, so only while that business is alive
        and (employer_birth_date is null or employer_birth_date < {{ trust_months_after('month', 1) }})
        and (employer_death_date is null or employer_death_date >= month)

),

employers as (

    select * from {{ ref('int_businesses_conformed') }}
    where is_employer_record
        and region is not null
        and sic_section is not null

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

workplace_employments as (

    select
        month,
        workplace_region as region,
        employer_sic_section as sic_section,
        person_id,
        employer_id,
        pay_gbp
    from employments

),

{{ trust_pay_statistics('workplace_employments', ['month', 'region', 'sic_section'], 'median_monthly_pay') }},

active_employers as (

    select distinct
        month,
        employer_id
    from employments
    where is_paid

),

employer_counts as (

    select
        a.month,
        b.region,
        b.sic_section,
        count(distinct a.employer_id) as employer_businesses
    from active_employers as a
    inner join employers as b
        on a.employer_id = b.employer_id
    where (b.birth_date is null or b.birth_date < {{ trust_months_after('a.month', 1) }})
        and (b.death_date is null or b.death_date >= a.month)
    group by a.month, b.region, b.sic_section

),

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
        r.region,
        s.sic_section,
        coalesce(p.sdc_median_monthly_pay_people, 0) as payrolled_employees,
        p.median_monthly_pay,
        coalesce(e.employer_businesses, 0) as employer_businesses,
        coalesce(b.business_births, 0) as business_births,
        coalesce(d.business_deaths, 0) as business_deaths,
        {{ trust_sdc_columns('median_monthly_pay', 'p') }}
    from months as m
    cross join regions as r
    cross join sections as s
    left join median_monthly_pay_by_cell as p
        on m.month = p.month and r.region = p.region and s.sic_section = p.sic_section
    left join employer_counts as e
        on m.month = e.month and r.region = e.region and s.sic_section = e.sic_section
    left join birth_counts as b
        on m.month = b.month and r.region = b.region and s.sic_section = b.sic_section
    left join death_counts as d
        on m.month = d.month and r.region = d.region and s.sic_section = d.sic_section

)

select * from final
