-- depends_on: {{ source('dfe', 'fe_learner_aims') }}
with

source as (

    select * from {{ delta_source('dfe', 'fe_learner_aims') }}

),

renamed as (

    select
        person_id,
        aim_id,
        start_date,
        planned_end_date,
        actual_end_date,
        lower(trim(outcome)) as outcome,
        ssa_tier1,
        trim(level) as level,
        upper(trim(residence_la_code)) as residence_la_code,
        nsf_funded
    from source

),

final as (

    select * from renamed

)

select * from final
