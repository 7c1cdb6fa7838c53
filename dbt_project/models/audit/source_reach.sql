{{ config(unique_key='month', pre_hook="{{ trust_delete_built_months('month') }}") }}
{#-
  How much of each built month's source rows reaches each product that counts them: the denominator of the
  plausibility check "share of source rows that reach a product" (policies/plausibility.yaml,
  trust_assets/lib/audit/plausibility.py). source_rows counts every copy of every row the department shared for the
  month; reaching_rows the distinct rows the product's figures are computed from (kept by the row rules and, for
  sector_region_monthly, placed by the business register's workplace district and SIC section). A register whose
  SIC sections are unknown, or a feed whose rows stop conforming, shows here as a falling share long before any
  single row rule blocks. Aggregates only; never published.
-#}
with

paye as (

    select
        {{ trust_month_of('month') }} as month,
        sum(copies) as source_rows,
        sum(case when row_rule_reason is null then 1 else 0 end) as kept_rows
    from {{ ref('int_employments_screened') }}
    where {{ trust_in_build_months('month') }}
    group by {{ trust_month_of('month') }}

),

paye_placed as (

    select
        month,
        count(*) as placed_rows
    from {{ ref('int_employments_linked') }}
    where {{ trust_in_build_months('reported_month') }}
        and is_known_employer
        and workplace_region is not null
        and employer_sic_section is not null
    group by month

),

claims as (

    select
        {{ trust_month_of('month') }} as month,
        sum(copies) as source_rows,
        sum(case when row_rule_reason is null then 1 else 0 end) as kept_rows
    from {{ ref('int_uc_claims_screened') }}
    where {{ trust_in_build_months('month') }}
    group by {{ trust_month_of('month') }}

),

unioned as (

    select
        month,
        'hmrc/paye_employments' as source_key,
        'local_labour_market_monthly' as product,
        source_rows,
        kept_rows as reaching_rows
    from paye

    union all

    select
        p.month,
        'hmrc/paye_employments' as source_key,
        'sector_region_monthly' as product,
        p.source_rows,
        coalesce(pp.placed_rows, 0) as reaching_rows
    from paye as p
    left join paye_placed as pp
        on p.month = pp.month

    union all

    select
        month,
        'dwp/uc_claims' as source_key,
        'local_labour_market_monthly' as product,
        source_rows,
        kept_rows as reaching_rows
    from claims

),

final as (

    select
        month,
        source_key,
        product,
        {{ dbt.cast("source_rows", dbt.type_bigint()) }} as source_rows,
        {{ dbt.cast("reaching_rows", dbt.type_bigint()) }} as reaching_rows
    from unioned

)

select * from final
