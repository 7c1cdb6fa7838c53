-- Every abolished authority that names a successor conforms to one of the current districts the products are
-- published on (with its region), so no department row coded to it is lost.
with

authorities as (

    select * from {{ ref('stg_reference__local_authorities') }}

),

conformed as (

    select * from {{ ref('int_district_codes_conformed') }}

),

districts as (

    select gss_code from authorities where is_district

),

final as (

    select
        a.register_code,
        a.gss_code,
        c.local_authority_code,
        c.conformance_rule
    from authorities as a
    left join conformed as c
        on a.gss_code = c.district_code
    left join districts as d
        on c.local_authority_code = d.gss_code
    where a.replaced_by is not null
        and a.gss_code is not null
        and (d.gss_code is null or c.region is null)

)

select * from final
