{#-
  PAYE employment-months that pass the source row rules (int_employments_screened: one copy of each exact
  duplicate, ids present, month in range, pay not negative, residence conformed, no conflicting rows), with month
  conformed and the employer's workplace district, region and SIC section attached by employer_id.
  `reported_month` is HMRC's own column: filter on it to prune.
-#}
with

employments as (

    select * from {{ ref('int_employments_screened') }}
    where row_rule_reason is null

),

employers as (

    select * from {{ ref('int_businesses_conformed') }}
    where is_employer_record

),

final as (

    select
        e.person_id,
        e.employer_id,
        e.month as reported_month,
        {{ trust_month_of('e.month') }} as month,
        e.pay_gbp,
        coalesce(e.pay_gbp > 0, false) as is_paid,
        e.employment_start_date,
        e.residence_la_code,
        e.residence_local_authority_code,
        e.residence_region,
        e.district_conformance as residence_conformance,
        b.employer_id is not null as is_known_employer,
        b.local_authority_code as workplace_local_authority_code,
        b.region as workplace_region,
        b.sic_section as employer_sic_section,
        b.birth_date as employer_birth_date,
        b.death_date as employer_death_date
    from employments as e
    left join employers as b
        on e.employer_id = b.employer_id

)

select * from final
