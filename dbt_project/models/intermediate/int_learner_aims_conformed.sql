{#-
  Further education learning aims: exact duplicates removed, rows without a person dropped, residence conformed,
  sector subject area checked against the tier-1 list, start and completion months conformed.
  Filter on start_date / actual_end_date (the department's own columns) to prune.
-#}
with

aims as (

    select * from {{ ref('stg_dfe__fe_learner_aims') }}

),

districts as (

    select * from {{ ref('int_district_codes_conformed') }}

),

subject_areas as (

    select * from {{ ref('stg_reference__sector_subject_areas') }}

),

deduplicated as (

    select distinct
        person_id,
        aim_id,
        start_date,
        planned_end_date,
        actual_end_date,
        outcome,
        ssa_tier1,
        level,
        residence_la_code,
        nsf_funded
    from aims
    where person_id is not null

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
        d.local_authority_code,
        d.local_authority_name,
        d.region,
        {{ trust_district_conformance('a.residence_la_code', 'd') }} as district_conformance
    from deduplicated as a
    left join districts as d
        on a.residence_la_code = d.district_code
    left join subject_areas as s
        on a.ssa_tier1 = s.ssa_tier1

)

select * from final
