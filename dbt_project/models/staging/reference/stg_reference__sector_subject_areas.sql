with

source as (

    select * from {{ ref('sector_subject_areas') }}

),

final as (

    select
        ssa_tier1,
        name as ssa_tier1_name
    from source

)

select * from final
