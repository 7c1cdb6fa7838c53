{{ config(materialized=trust_reference_materialization()) }}
with

source as (

    select * from {{ ref('uk_local_authorities') }}

),

renamed as (

    select
        {{ adapter.quote('local-authority-code') }} as register_code,
        upper(trim({{ adapter.quote('gss-code') }})) as gss_code,
        {{ adapter.quote('nice-name') }} as local_authority_name,
        {{ adapter.quote('official-name') }} as official_name,
        nation,
        region,
        {{ adapter.quote('local-authority-type') }} as local_authority_type,
        {{ adapter.quote('start-date') }} as start_date,
        {{ adapter.quote('end-date') }} as end_date,
        upper(replace({{ adapter.quote('replaced-by') }}, ' ', '')) as replaced_by,
        upper(replace({{ adapter.quote('former-gss-codes') }}, ' ', '')) as former_gss_codes,
        coalesce({{ adapter.quote('current-authority') }}, false) as is_current,
        coalesce({{ adapter.quote('lower-or-unitary') }}, false) as is_lower_or_unitary,
        coalesce({{ adapter.quote('current-authority') }}, false)
            and coalesce({{ adapter.quote('lower-or-unitary') }}, false) as is_district,
        {{ adapter.quote('pop-2020') }} as population_2020
    from source

),

final as (

    select * from renamed

)

select * from final
