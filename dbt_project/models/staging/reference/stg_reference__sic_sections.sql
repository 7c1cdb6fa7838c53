with

source as (

    select * from {{ ref('sic2007_sections') }}

),

final as (

    select
        upper(trim(section)) as sic_section,
        name as sic_section_name
    from source

)

select * from final
