-- Business counts are a linked margin: summed over a region's districts (local_labour_market_monthly) they equal
-- the sum over the region's SIC sections (sector_region_monthly), month by month. Disclosure control's secondary
-- suppression relies on it, and analysts comparing the products expect it.
with

by_district as (

    select month, region, sum(employer_businesses) as employer_businesses, sum(business_births) as business_births
    from {{ ref('local_labour_market_monthly') }}
    group by month, region

),

by_section as (

    select month, region, sum(employer_businesses) as employer_businesses, sum(business_births) as business_births
    from {{ ref('sector_region_monthly') }}
    group by month, region

),

final as (

    select
        coalesce(d.month, s.month) as month,
        coalesce(d.region, s.region) as region,
        d.employer_businesses as district_employers,
        s.employer_businesses as section_employers,
        d.business_births as district_births,
        s.business_births as section_births
    from by_district as d
    full outer join by_section as s
        on d.month = s.month and d.region = s.region
    where d.month is null
        or s.month is null
        or d.employer_businesses <> s.employer_businesses
        or d.business_births <> s.business_births

)

select * from final
