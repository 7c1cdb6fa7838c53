{#-
  PAYE employment-months linked to the employer's business record: exact duplicates removed, rows without a person
  dropped, month conformed, residence conformed to a current district, and the employer's workplace district,
  region and SIC section attached by employer_id. `reported_month` is HMRC's own column: filter on it to prune.
-#}
with

employments as (

    select * from {{ ref('stg_hmrc__paye_employments') }}

),

districts as (

    select * from {{ ref('int_district_codes_conformed') }}

),

employers as (

    select * from {{ ref('int_businesses_conformed') }}
    where is_employer_record

),

deduplicated as (

    select distinct
        person_id,
        employer_id,
        month,
        pay_gbp,
        residence_la_code,
        employment_start_date
    from employments
    where person_id is not null

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
        d.local_authority_code as residence_local_authority_code,
        d.region as residence_region,
        {{ trust_district_conformance('e.residence_la_code', 'd') }} as residence_conformance,
        b.employer_id is not null as is_known_employer,
        b.local_authority_code as workplace_local_authority_code,
        b.region as workplace_region,
        b.sic_section as employer_sic_section,
        b.birth_date as employer_birth_date,
        b.death_date as employer_death_date
    from deduplicated as e
    left join districts as d
        on e.residence_la_code = d.district_code
    left join employers as b
        on e.employer_id = b.employer_id

)

select * from final
