-- Every built month has one row per region (12) and SIC section (21).
with

product as (

    select * from {{ ref('sector_region_monthly') }}

),

per_month as (

    select
        month,
        count(*) as actual_rows,
        count(distinct region) as regions,
        count(distinct sic_section) as sections
    from product
    group by month

),

final as (

    select * from per_month
    where actual_rows <> 12 * 21 or regions <> 12 or sections <> 21

)

select * from final
