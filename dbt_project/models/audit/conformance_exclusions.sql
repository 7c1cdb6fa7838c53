{{ config(unique_key='month', pre_hook="{{ trust_delete_built_months('month') }}") }}
{#-
  What conformance did to the rows each built month used: rows excluded by a source row rule (reasons of
  macros/trust_row_rules.sql: null ids, months out of range, negative pay, district not conformable, conflicting
  rows; every copy counted), extra copies of exact duplicates (duplicate_row), rows recoded to a current district
  (former code, successor, split rule: counted, not excluded), PAYE rows whose employer is not on the business
  register (excluded from sector_region_monthly only), unknown SIC sections and sector subject areas. Aggregates only; the audit queries it (e.g. share of rows excluded per source and month).
  row_basis names the date column that places a row in a month (aims: start_date for starts, actual_end_date for
  completions; businesses: birth_date and death_date).
-#}
with

uc_claims_rows as (

    {{ trust_row_rule_counts('int_uc_claims_screened', 'dwp/uc_claims', 'month', 'residence_la_code') }}

),

paye_rows as (

    {{ trust_row_rule_counts('int_employments_screened', 'hmrc/paye_employments', 'month', 'residence_la_code',
        summed_key=['month', 'person_id', 'employer_id']) }}

),

paye_employers as (

    {#- kept PAYE rows (their employer_id is never null) that sector_region_monthly cannot place -#}
    select
        month,
        'hmrc/paye_employments' as source_key,
        'month' as row_basis,
        case
            when not is_known_employer then 'unknown_employer'
            when workplace_region is null then 'employer_district_not_conformable'
            else 'employer_sic_section_unknown'
        end as reason,
        cast(null as {{ dbt.type_string() }}) as recorded_code,
        true as is_excluded,
        count(*) as affected_rows
    from {{ ref('int_employments_linked') }}
    where {{ trust_in_build_months('reported_month') }}
        and (not is_known_employer or workplace_region is null or employer_sic_section is null)
    group by
        month,
        case
            when not is_known_employer then 'unknown_employer'
            when workplace_region is null then 'employer_district_not_conformable'
            else 'employer_sic_section_unknown'
        end

),

aim_start_rows as (

    {{ trust_row_rule_counts('int_learner_aims_screened', 'dfe/fe_learner_aims', 'start_date',
        'residence_la_code') }}

),

aim_completion_rows as (

    {{ trust_row_rule_counts('int_learner_aims_screened', 'dfe/fe_learner_aims', 'actual_end_date',
        'residence_la_code', where="coalesce(outcome in ('completed', 'achieved'), false)") }}

),

aim_subject_areas as (

    select
        completion_month as month,
        'dfe/fe_learner_aims' as source_key,
        'actual_end_date' as row_basis,
        'unknown_ssa_tier1' as reason,
        cast(reported_ssa_tier1 as {{ dbt.type_string() }}) as recorded_code,
        true as is_excluded,
        count(*) as affected_rows
    from {{ ref('int_learner_aims_conformed') }}
    where {{ trust_in_build_months('actual_end_date') }}
        and is_completed
        and ssa_tier1 is null
    group by completion_month, cast(reported_ssa_tier1 as {{ dbt.type_string() }})

),

{%- for basis, month_column in [('birth_date', 'birth_month'), ('death_date', 'death_month')] %}

business_{{ basis }}_districts as (

    {{ trust_district_exclusions('int_businesses_conformed', 'beis/business_register', basis, month_column,
        'workplace_la_code', 'district_conformance') }}

),

business_{{ basis }}_sections as (

    select
        {{ month_column }} as month,
        'beis/business_register' as source_key,
        '{{ basis }}' as row_basis,
        'unknown_sic_section' as reason,
        reported_sic_section as recorded_code,
        true as is_excluded,
        count(*) as affected_rows
    from {{ ref('int_businesses_conformed') }}
    where {{ trust_in_build_months(basis) }}
        and sic_section is null
    group by {{ month_column }}, reported_sic_section

),
{%- endfor %}

unioned as (

    {%- for cte in ['uc_claims_rows', 'paye_rows', 'paye_employers', 'aim_start_rows', 'aim_completion_rows',
                    'aim_subject_areas',
                    'business_birth_date_districts', 'business_birth_date_sections',
                    'business_death_date_districts', 'business_death_date_sections'] %}
    select * from {{ cte }}
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

final as (

    select
        month,
        source_key,
        row_basis,
        reason,
        recorded_code,
        is_excluded,
        {{ dbt.cast("sum(affected_rows)", dbt.type_bigint()) }} as affected_rows
    from unioned
    group by month, source_key, row_basis, reason, recorded_code, is_excluded

)

select * from final
