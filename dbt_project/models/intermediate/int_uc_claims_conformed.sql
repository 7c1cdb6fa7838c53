{#-
  Universal Credit claimant-months that pass the source row rules (int_uc_claims_screened: one copy of each exact
  duplicate, no null person ids, months in range, residence conformed to a current district, no conflicting
  rows), with month conformed. `reported_month` is the department's own column: filter on it so DuckDB prunes
  the parquet row groups.
-#}
with

screened as (

    select * from {{ ref('int_uc_claims_screened') }}

),

final as (

    select
        person_id,
        month as reported_month,
        {{ trust_month_of('month') }} as month,
        residence_la_code,
        local_authority_code,
        local_authority_name,
        region,
        district_conformance,
        coalesce(age_band, 'unknown') as age_band,
        sex,
        disability,
        conditionality_regime,
        claim_start_date,
        {{ trust_month_of('claim_start_date') }} as claim_start_month
    from screened
    where row_rule_reason is null

)

select * from final
