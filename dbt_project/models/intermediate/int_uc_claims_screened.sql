{{ config(materialized='table') }}
{#-
  Universal Credit claim rows screened by the source row rules: one row per distinct source row, `copies` of it
  in the source, its district conformed, and `row_rule_reason`, the rule failure that excludes it (null: kept).
  Precedence: null_person_id, month_not_month_start, start_after_month (claim started after the stock month),
  then the district (missing_code, unknown_code, not_a_district, no_successor), then conflicting_duplicate (two
  differing rows for one person and month that both pass the rest: neither is trusted). A kept row's extra copies
  are exact duplicates, counted but harmless. Filter on `month` (the department's column) to prune.
-#}
with

claims as (

    select * from {{ ref('stg_dwp__uc_claims') }}
    -- only the months this run reads: the built months
    where {{ trust_in_build_months('month') }}

),

districts as (

    select * from {{ ref('int_district_codes_conformed') }}

),

distinct_rows as (

    select
        person_id,
        month,
        residence_la_code,
        age_band,
        sex,
        disability,
        conditionality_regime,
        claim_start_date,
        count(*) as copies
    from claims
    group by person_id, month, residence_la_code, age_band, sex, disability, conditionality_regime,
        claim_start_date

),

checked as (

    -- only what the window needs: the source columns and the first failure (the district's names come after)
    select
        c.*,
        {{ trust_first_failure([
            ("'null_person_id'", "c.person_id is null"),
            ("'month_not_month_start'", "c.month <> " ~ trust_month_of('c.month')),
            ("'start_after_month'", "c.claim_start_date >= " ~ trust_months_after(trust_month_of('c.month'), 1)),
            (trust_district_conformance('c.residence_la_code', 'd'), "d.local_authority_code is null"),
        ]) }} as row_failure
    from distinct_rows as c
    left join districts as d
        on c.residence_la_code = d.district_code

),

screened as (

    {{ trust_screen_versions('checked', ['month', 'person_id']) }}

),

final as (

    -- the district's names joined after the window, so its sort carries no strings it does not partition on
    select
        s.person_id,
        s.month,
        s.residence_la_code,
        s.age_band,
        s.sex,
        s.disability,
        s.conditionality_regime,
        s.claim_start_date,
        s.copies,
        s.key_versions,
        d.local_authority_code,
        d.local_authority_name,
        d.region,
        {{ trust_district_conformance('s.residence_la_code', 'd') }} as district_conformance,
        s.row_rule_reason
    from screened as s
    left join districts as d
        on s.residence_la_code = d.district_code

)

select * from final
