-- Every succession walk ends on a current authority: a walk that stops on an abolished authority that still names a
-- successor means trust_succession_max_hops is too small for the reference data.
with

conformed as (

    select * from {{ ref('int_district_codes_conformed') }}

),

authorities as (

    select * from {{ ref('stg_reference__local_authorities') }}

),

final as (

    select
        c.district_code,
        c.resolved_register_code,
        a.replaced_by
    from conformed as c
    inner join authorities as a
        on c.resolved_register_code = a.register_code
    where not a.is_current
        and a.replaced_by is not null

)

select * from final
