{#-
  Universal Credit claimant-months: exact duplicates removed, rows without a person dropped, month conformed, and
  residence conformed to a current district (null local_authority_code when not conformable; the rule says why).
  `reported_month` is the department's own column: filter on it so DuckDB prunes the parquet row groups.
-#}
with

claims as (

    select * from {{ ref('stg_dwp__uc_claims') }}

),

districts as (

    select * from {{ ref('int_district_codes_conformed') }}

),

deduplicated as (

    select distinct
        person_id,
        month,
        residence_la_code,
        age_band,
        sex,
        disability,
        conditionality_regime,
        claim_start_date
    from claims
    where person_id is not null

),

final as (

    select
        c.person_id,
        c.month as reported_month,
        {{ trust_month_of('c.month') }} as month,
        c.residence_la_code,
        d.local_authority_code,
        d.local_authority_name,
        d.region,
        {{ trust_district_conformance('c.residence_la_code', 'd') }} as district_conformance,
        coalesce(c.age_band, 'unknown') as age_band,
        c.sex,
        c.disability,
        c.conditionality_regime,
        c.claim_start_date,
        {{ trust_month_of('c.claim_start_date') }} as claim_start_month
    from deduplicated as c
    left join districts as d
        on c.residence_la_code = d.district_code

)

select * from final
