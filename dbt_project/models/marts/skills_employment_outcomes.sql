{{ config(unique_key='completion_month', pre_hook="{{ trust_delete_built_months('completion_month') }}") }}
{#-
  People who completed (outcome completed or achieved) a further education aim in the completion month, by that
  aim's region, tier-1 sector subject area and National Skills Fund funding, and how many are in payrolled work
  six months later. Reads only the completion months built and their follow-up months; outcomes not yet
  observable (follow-up beyond HMRC's newest month) are null.
-#}
with

aims as (

    select * from {{ ref('int_learner_aims_conformed') }}
    where {{ trust_in_build_months('actual_end_date') }}
        and is_completed
        and region is not null
        and ssa_tier1 is not null

),

hmrc_months as (

    {#- the follow-up months HMRC holds rows for (as in claimant_employment_outcomes) -#}
    select distinct month
    from {{ ref('int_employments_screened') }}
    where {{ trust_in_build_months('month', 6) }}
        and row_rule_reason is null

),

employments_6m as (

    select * from {{ ref('int_employments_linked') }}
    where {{ trust_in_build_months('reported_month', 6) }}

),

completers as (

    select distinct
        completion_month,
        region,
        ssa_tier1,
        nsf_funded,
        person_id,
        {{ trust_months_after('completion_month', 6) }} as follow_up_6m
    from aims

),

completer_employments_6m as (

    select
        c.completion_month,
        c.region,
        c.ssa_tier1,
        c.nsf_funded,
        c.person_id,
        e.employer_id,
        e.pay_gbp
    from completers as c
    inner join employments_6m as e
        on c.person_id = e.person_id and c.follow_up_6m = e.month

),

{{ trust_pay_statistics('completer_employments_6m', ['completion_month', 'region', 'ssa_tier1', 'nsf_funded'], 'median_pay_6m') }},

completer_counts as (

    select
        completion_month,
        region,
        ssa_tier1,
        nsf_funded,
        max(follow_up_6m) as follow_up_6m,
        count(distinct person_id) as completers
    from completers
    group by completion_month, region, ssa_tier1, nsf_funded

),

observed as (

    select
        c.*,
        h6.month is not null as is_observable_6m
    from completer_counts as c
    left join hmrc_months as h6 on c.follow_up_6m = h6.month

),

final as (

    select
        o.completion_month,
        o.region,
        o.ssa_tier1,
        o.nsf_funded,
        o.completers,
        case when o.is_observable_6m then coalesce(p.sdc_median_pay_6m_people, 0) end as in_work_6m,
        case when o.is_observable_6m
            then {{ trust_ratio('coalesce(p.sdc_median_pay_6m_people, 0)', 'o.completers') }}
        end as in_work_6m_rate,
        case when o.is_observable_6m then p.median_pay_6m end as median_pay_6m,
        {%- for suffix in ['people', 'employers', 'total', 'top1', 'top2'] %}
        case when o.is_observable_6m then coalesce(p.sdc_median_pay_6m_{{ suffix }}, 0) end
            as sdc_median_pay_6m_{{ suffix }}{{ "," if not loop.last }}
        {%- endfor %}
    from observed as o
    left join median_pay_6m_by_cell as p
        on o.completion_month = p.completion_month
        and o.region = p.region
        and o.ssa_tier1 = p.ssa_tier1
        and {{ trust_same('o.nsf_funded', 'p.nsf_funded') }}

)

select * from final
