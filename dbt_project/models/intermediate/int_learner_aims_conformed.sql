{#-
  Further education learning aims that pass the source row rules (int_learner_aims_screened: one copy of each
  exact duplicate, no null person ids, end not before start, residence conformed, no conflicting rows), with
  sector subject area checked against the tier-1 list and start and completion months conformed.
  Filter on start_date or actual_end_date (the department's own columns) to prune.
-#}
with

aims as (

    select * from {{ ref('int_learner_aims_screened') }}
    where row_rule_reason is null

),

subject_areas as (

    select * from {{ ref('stg_reference__sector_subject_areas') }}

),

final as (

    select
        a.person_id,
        a.aim_id,
        a.start_date,
        {{ trust_month_of('a.start_date') }} as start_month,
        a.planned_end_date,
        a.actual_end_date,
        {{ trust_month_of('a.actual_end_date') }} as completion_month,
        a.outcome,
        coalesce(a.outcome in ('completed', 'achieved'), false) as is_completed,
        a.ssa_tier1 as reported_ssa_tier1,
        s.ssa_tier1,
        a.level,
        a.nsf_funded,
        a.residence_la_code,
        a.local_authority_code,
        a.local_authority_name,
        a.region,
        a.district_conformance
    from aims as a
    left join subject_areas as s
        on a.ssa_tier1 = s.ssa_tier1

)

select * from final
