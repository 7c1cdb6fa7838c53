{{ config(materialized='table') }}
{#-
  Learning aim rows screened by the source row rules: one row per distinct source row, `copies` of it in the
  source, its residence conformed, and `row_rule_reason`, the rule failure that excludes it (null: kept).
  Precedence: null_person_id, end_before_start (actual_end_date before start_date), then the residence district,
  then conflicting_duplicate (two differing rows for one person and aim that both pass the rest). Filter on
  start_date or actual_end_date (the department's columns) to prune.
-#}
with

aims as (

    select * from {{ ref('stg_dfe__fe_learner_aims') }}

),

districts as (

    select * from {{ ref('int_district_codes_conformed') }}

),

distinct_rows as (

    select
        person_id,
        aim_id,
        start_date,
        planned_end_date,
        actual_end_date,
        outcome,
        ssa_tier1,
        level,
        residence_la_code,
        nsf_funded,
        count(*) as copies
    from aims
    group by person_id, aim_id, start_date, planned_end_date, actual_end_date, outcome, ssa_tier1, level,
        residence_la_code, nsf_funded

),

checked as (

    select
        a.*,
        d.local_authority_code,
        d.local_authority_name,
        d.region,
        {{ trust_district_conformance('a.residence_la_code', 'd') }} as district_conformance,
        {{ trust_first_failure([
            ("'null_person_id'", "a.person_id is null"),
            ("'end_before_start'", "a.actual_end_date < a.start_date"),
            (trust_district_conformance('a.residence_la_code', 'd'), "d.local_authority_code is null"),
        ]) }} as row_failure
    from distinct_rows as a
    left join districts as d
        on a.residence_la_code = d.district_code

),

screened as (

    {{ trust_screen_versions('checked', ['person_id', 'aim_id']) }}

),

final as (

    select
        person_id,
        aim_id,
        start_date,
        planned_end_date,
        actual_end_date,
        outcome,
        ssa_tier1,
        level,
        residence_la_code,
        nsf_funded,
        copies,
        key_versions,
        local_authority_code,
        local_authority_name,
        region,
        district_conformance,
        row_rule_reason
    from screened

)

select * from final
