-- The hidden sdc_ columns agree with the published measures they support: contributing people are the payrolled
-- employees, a median exists exactly when someone contributes, and the largest employers are ordered and within
-- the cell's total.
with

local_market as (

    select
        'local_labour_market_monthly' as product,
        payrolled_employees,
        median_monthly_pay,
        sdc_median_monthly_pay_people as people,
        sdc_median_monthly_pay_employers as employers,
        sdc_median_monthly_pay_total as total,
        sdc_median_monthly_pay_top1 as top1,
        sdc_median_monthly_pay_top2 as top2
    from {{ ref('local_labour_market_monthly') }}

),

sector_region as (

    select
        'sector_region_monthly' as product,
        payrolled_employees,
        median_monthly_pay,
        sdc_median_monthly_pay_people as people,
        sdc_median_monthly_pay_employers as employers,
        sdc_median_monthly_pay_total as total,
        sdc_median_monthly_pay_top1 as top1,
        sdc_median_monthly_pay_top2 as top2
    from {{ ref('sector_region_monthly') }}

),

unioned as (

    select * from local_market
    union all
    select * from sector_region

),

final as (

    select * from unioned
    where people <> payrolled_employees
        or (people = 0 and (median_monthly_pay is not null or employers <> 0 or total <> 0))
        or (people > 0 and (median_monthly_pay is null or employers < 1))
        or top2 > top1
        or (employers = 1 and top2 <> 0)
        or top1 + top2 > total + 0.01

)

select * from final
