{{ config(materialized='table') }}
{#-
  Business register rows with workplace conformed to a current district and SIC section checked against SIC 2007.
  Employing businesses (employer_id not null) are deduplicated on the whole row, and when one employer_id still has
  several rows the one born last is its employer record (is_employer_record), so joins from PAYE never fan out.
  Non-employing businesses have no key: two identical rows may be two businesses, so they are kept as reported.
-#}
with

businesses as (

    select * from {{ ref('stg_beis__businesses') }}

),

districts as (

    select * from {{ ref('int_district_codes_conformed') }}

),

sic_sections as (

    select * from {{ ref('stg_reference__sic_sections') }}

),

employing as (

    select distinct
        employer_id,
        sic_section,
        sic_division,
        workplace_la_code,
        size_band,
        birth_date,
        death_date
    from businesses
    where employer_id is not null

),

non_employing as (

    select
        employer_id,
        sic_section,
        sic_division,
        workplace_la_code,
        size_band,
        birth_date,
        death_date
    from businesses
    where employer_id is null

),

unioned as (

    select * from employing
    union all
    select * from non_employing

),

ranked as (

    -- the employer record is chosen on the source columns alone, before the joins widen the rows
    select
        *,
        case
            when employer_id is null then null
            else row_number() over (
                partition by employer_id
                order by birth_date desc nulls last, death_date desc nulls first, sic_section asc,
                    workplace_la_code asc, sic_division asc, size_band asc
            )
        end as employer_record_rank
    from unioned

),

conformed as (

    select
        b.employer_id,
        b.sic_section as reported_sic_section,
        s.sic_section,
        b.sic_division,
        b.workplace_la_code,
        d.local_authority_code,
        d.local_authority_name,
        d.region,
        {{ trust_district_conformance('b.workplace_la_code', 'd') }} as district_conformance,
        b.size_band,
        b.birth_date,
        b.death_date,
        {{ trust_month_of('b.birth_date') }} as birth_month,
        {{ trust_month_of('b.death_date') }} as death_month,
        b.employer_record_rank
    from ranked as b
    left join districts as d
        on b.workplace_la_code = d.district_code
    left join sic_sections as s
        on b.sic_section = s.sic_section

),

final as (

    select
        employer_id,
        reported_sic_section,
        sic_section,
        sic_division,
        workplace_la_code,
        local_authority_code,
        local_authority_name,
        region,
        district_conformance,
        size_band,
        birth_date,
        death_date,
        birth_month,
        death_month,
        employer_record_rank = 1 as is_employer_record
    from conformed

)

select * from final
