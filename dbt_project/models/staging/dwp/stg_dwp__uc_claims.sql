-- depends_on: {{ source('dwp', 'uc_claims') }}
with

source as (

    select * from {{ delta_source('dwp', 'uc_claims') }}

),

renamed as (

    select
        person_id,
        month,
        upper(trim(residence_la_code)) as residence_la_code,
        trim(age_band) as age_band,
        upper(trim(sex)) as sex,
        disability,
        lower(trim(conditionality_regime)) as conditionality_regime,
        claim_start_date
    from source

),

final as (

    select * from renamed

)

select * from final
