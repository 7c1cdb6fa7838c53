-- Outcome products: rates are fractions in [0, 1] equal to in_work / cohort, in-work counts never exceed the cohort,
-- and an unobservable 6-month outcome is null across all of its columns (never a zero).
with

claimants as (

    select
        'claimant_employment_outcomes' as product,
        cohort_month as month,
        cohort_claimants as people,
        in_work_3m,
        in_work_6m,
        in_work_6m_rate,
        median_pay_6m,
        sdc_median_pay_6m_people,
        sdc_median_pay_6m_total
    from {{ ref('claimant_employment_outcomes') }}

),

completers as (

    select
        'skills_employment_outcomes' as product,
        completion_month as month,
        completers as people,
        cast(null as {{ dbt.type_bigint() }}) as in_work_3m,
        in_work_6m,
        in_work_6m_rate,
        median_pay_6m,
        sdc_median_pay_6m_people,
        sdc_median_pay_6m_total
    from {{ ref('skills_employment_outcomes') }}

),

unioned as (

    select * from claimants
    union all
    select * from completers

),

final as (

    select * from unioned
    where people <= 0
        or in_work_3m > people
        or in_work_6m > people
        or in_work_6m_rate < 0
        or in_work_6m_rate > 1
        or abs(in_work_6m_rate - {{ trust_ratio('in_work_6m', 'people') }}) > 1e-9
        or (in_work_6m is null and (in_work_6m_rate is not null or median_pay_6m is not null
            or sdc_median_pay_6m_people is not null or sdc_median_pay_6m_total is not null))
        or (in_work_6m is not null and sdc_median_pay_6m_people <> in_work_6m)
        or (in_work_6m = 0 and median_pay_6m is not null)

)

select * from final
