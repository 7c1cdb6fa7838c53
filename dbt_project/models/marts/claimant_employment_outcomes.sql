{{ config(unique_key='cohort_month', pre_hook="{{ trust_delete_built_months('cohort_month') }}") }}
{#-
  New Universal Credit claimants (claim started in the cohort month, attributes as recorded in that month's stock)
  and how many are in payrolled work 3 and 6 months later. Builds the run's cohort months and reads only the
  follow-up months they need (cohort + 3 and cohort + 6). An outcome whose follow-up month HMRC holds no rows for
  (beyond the newest month shared, or removed) is not observable: null, never zero.
-#}
with

claims as (

    select * from {{ ref('int_uc_claims_conformed') }}
    where {{ trust_in_build_months('reported_month') }}
        and region is not null

),

hmrc_months as (

    {#- the follow-up months HMRC holds rows for (rows the row rules kept): a month beyond the newest one shared, or
        one HMRC removed (a retraction the audit blocks until acknowledged), is not observable: null, never zero -#}
    select distinct month
    from {{ ref('int_employments_screened') }}
    where ({{ trust_in_build_months('month', 3) }}
        or {{ trust_in_build_months('month', 6) }})
        and row_rule_reason is null

),

employments_3m as (

    select * from {{ ref('int_employments_linked') }}
    where {{ trust_in_build_months('reported_month', 3) }}

),

employments_6m as (

    select * from {{ ref('int_employments_linked') }}
    where {{ trust_in_build_months('reported_month', 6) }}

),

cohort as (

    select distinct
        month as cohort_month,
        region,
        age_band,
        disability,
        person_id,
        {{ trust_months_after('month', 3) }} as follow_up_3m,
        {{ trust_months_after('month', 6) }} as follow_up_6m
    from claims
    where claim_start_month = month

),

in_work_3m_people as (

    select
        person_id,
        month
    from employments_3m
    group by person_id, month
    having max(case when is_paid then 1 else 0 end) = 1

),

in_work_3m_counts as (

    select
        c.cohort_month,
        c.region,
        c.age_band,
        c.disability,
        count(distinct c.person_id) as in_work_3m
    from cohort as c
    inner join in_work_3m_people as w
        on c.person_id = w.person_id and c.follow_up_3m = w.month
    group by c.cohort_month, c.region, c.age_band, c.disability

),

cohort_employments_6m as (

    select
        c.cohort_month,
        c.region,
        c.age_band,
        c.disability,
        c.person_id,
        e.employer_id,
        e.pay_gbp
    from cohort as c
    inner join employments_6m as e
        on c.person_id = e.person_id and c.follow_up_6m = e.month

),

{{ trust_pay_statistics('cohort_employments_6m', ['cohort_month', 'region', 'age_band', 'disability'], 'median_pay_6m') }},

cohort_counts as (

    select
        cohort_month,
        region,
        age_band,
        disability,
        max(follow_up_3m) as follow_up_3m,
        max(follow_up_6m) as follow_up_6m,
        count(distinct person_id) as cohort_claimants
    from cohort
    group by cohort_month, region, age_band, disability

),

observed as (

    select
        c.*,
        h3.month is not null as is_observable_3m,
        h6.month is not null as is_observable_6m
    from cohort_counts as c
    left join hmrc_months as h3 on c.follow_up_3m = h3.month
    left join hmrc_months as h6 on c.follow_up_6m = h6.month

),

final as (

    select
        o.cohort_month,
        o.region,
        o.age_band,
        o.disability,
        o.cohort_claimants,
        case when o.is_observable_3m then coalesce(w3.in_work_3m, 0) end as in_work_3m,
        case when o.is_observable_6m then coalesce(p.sdc_median_pay_6m_people, 0) end as in_work_6m,
        case when o.is_observable_6m
            then {{ trust_ratio('coalesce(p.sdc_median_pay_6m_people, 0)', 'o.cohort_claimants') }}
        end as in_work_6m_rate,
        case when o.is_observable_6m then p.median_pay_6m end as median_pay_6m,
        {%- for suffix in ['people', 'employers', 'total', 'top1', 'top2'] %}
        case when o.is_observable_6m then coalesce(p.sdc_median_pay_6m_{{ suffix }}, 0) end
            as sdc_median_pay_6m_{{ suffix }}{{ "," if not loop.last }}
        {%- endfor %}
    from observed as o
    left join in_work_3m_counts as w3
        on o.cohort_month = w3.cohort_month
        and o.region = w3.region
        and o.age_band = w3.age_band
        and {{ trust_same('o.disability', 'w3.disability') }}
    left join median_pay_6m_by_cell as p
        on o.cohort_month = p.cohort_month
        and o.region = p.region
        and o.age_band = p.age_band
        and {{ trust_same('o.disability', 'p.disability') }}

)

select * from final
