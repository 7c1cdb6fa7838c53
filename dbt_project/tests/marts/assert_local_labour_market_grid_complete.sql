-- Every built month has exactly one row per current district (the zero-filled grid analysts rely on).
with

product as (

    select * from {{ ref('local_labour_market_monthly') }}

),

districts as (

    select count(*) as expected_rows
    from {{ ref('stg_reference__local_authorities') }}
    where is_district

),

per_month as (

    select month, count(*) as actual_rows, count(distinct local_authority_code) as distinct_districts
    from product
    group by month

),

final as (

    select p.*, d.expected_rows
    from per_month as p
    cross join districts as d
    where p.actual_rows <> d.expected_rows or p.distinct_districts <> d.expected_rows

)

select * from final
