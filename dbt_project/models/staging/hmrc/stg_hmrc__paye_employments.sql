-- depends_on: {{ source('hmrc', 'paye_employments') }}
with

source as (

    select * from {{ delta_source('hmrc', 'paye_employments') }}

),

renamed as (

    select
        person_id,
        trim(employer_id) as employer_id,
        month,
        pay_gbp,
        upper(trim(residence_la_code)) as residence_la_code,
        employment_start_date
    from source

),

final as (

    select * from renamed

)

select * from final
