{{ config(unique_key='month', pre_hook="{{ trust_delete_built_months('month') }}") }}
{#-
  Month x current district (all 361, every built month, zero-filled). Residence-based people counts and pay;
  workplace-based employer counts and business births. Only the built months are read (filters on the
  departments' own date columns, so DuckDB prunes the parquet row groups of other months).
-#}
with

districts as (

    select
        gss_code as local_authority_code,
        local_authority_name,
        region
    from {{ ref('stg_reference__local_authorities') }}
    where is_district

),

months as (

    {{ trust_months_spine() }}

),

claims as (

    select * from {{ ref('int_uc_claims_conformed') }}
    where {{ trust_in_build_months('reported_month') }}
        and local_authority_code is not null

),

employments as (

    select * from {{ ref('int_employments_linked') }}
    where {{ trust_in_build_months('reported_month') }}

),

employers as (

    {#- businesses without a SIC 2007 section are left out here as in sector_region_monthly, so the two products'
        business counts agree by region and month (a linked margin disclosure control relies on) -#}
    select * from {{ ref('int_businesses_conformed') }}
    where is_employer_record
        and sic_section is not null

),

aims as (

    select * from {{ ref('int_learner_aims_conformed') }}
    where {{ trust_in_build_months('start_date') }}
        and local_authority_code is not null

),

businesses_born as (

    select * from {{ ref('int_businesses_conformed') }}
    where {{ trust_in_build_months('birth_date') }}
        and local_authority_code is not null
        and sic_section is not null

),

claimant_counts as (

    select
        month,
        local_authority_code,
        count(distinct person_id) as uc_claimants,
        count(distinct case when conditionality_regime = 'searching_for_work' then person_id end)
            as uc_claimants_searching_for_work
    from claims
    group by month, local_authority_code

),

residence_employments as (

    select
        month,
        residence_local_authority_code as local_authority_code,
        person_id,
        employer_id,
        pay_gbp
    from employments
    where residence_local_authority_code is not null

),

{{ trust_pay_statistics('residence_employments', ['month', 'local_authority_code'], 'median_monthly_pay') }},

active_employers as (

    {#- an employer is active in a month when someone is paid by it then; it counts where its workplace is -#}
    select distinct
        e.month,
        e.employer_id
    from employments as e
    where e.is_paid and e.employer_id is not null

),

employer_counts as (

    select
        a.month,
        b.local_authority_code,
        count(distinct a.employer_id) as employer_businesses
    from active_employers as a
    inner join employers as b
        on a.employer_id = b.employer_id
    where b.local_authority_code is not null
        and (b.birth_date is null or b.birth_date < {{ trust_months_after('a.month', 1) }})
        and (b.death_date is null or b.death_date >= a.month)
    group by a.month, b.local_authority_code

),

learner_starts as (

    select
        start_month as month,
        local_authority_code,
        count(distinct aim_id) as fe_learner_starts
    from aims
    group by start_month, local_authority_code

),

birth_counts as (

    select
        birth_month as month,
        local_authority_code,
        count(*) as business_births
    from businesses_born
    group by birth_month, local_authority_code

),

final as (

    select
        m.month,
        d.local_authority_code,
        d.local_authority_name,
        d.region,
        coalesce(c.uc_claimants, 0) as uc_claimants,
        coalesce(c.uc_claimants_searching_for_work, 0) as uc_claimants_searching_for_work,
        coalesce(p.sdc_median_monthly_pay_people, 0) as payrolled_employees,
        p.median_monthly_pay,
        coalesce(l.fe_learner_starts, 0) as fe_learner_starts,
        coalesce(e.employer_businesses, 0) as employer_businesses,
        coalesce(b.business_births, 0) as business_births,
        {{ trust_sdc_columns('median_monthly_pay', 'p') }}
    from months as m
    cross join districts as d
    left join claimant_counts as c
        on m.month = c.month and d.local_authority_code = c.local_authority_code
    left join median_monthly_pay_by_cell as p
        on m.month = p.month and d.local_authority_code = p.local_authority_code
    left join employer_counts as e
        on m.month = e.month and d.local_authority_code = e.local_authority_code
    left join learner_starts as l
        on m.month = l.month and d.local_authority_code = l.local_authority_code
    left join birth_counts as b
        on m.month = b.month and d.local_authority_code = b.local_authority_code

)

select * from final
