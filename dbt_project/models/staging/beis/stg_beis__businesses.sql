-- depends_on: {{ source('beis', 'business_register') }}
with

source as (

    select * from {{ delta_source('beis', 'business_register') }}

),

renamed as (

    select
        trim(employer_id) as employer_id,
        upper(trim(sic_section)) as sic_section,
        trim(sic_division) as sic_division,
        upper(trim(workplace_la_code)) as workplace_la_code,
        trim(size_band) as size_band,
        birth_date,
        death_date
    from source

),

final as (

    select * from renamed

)

select * from final
