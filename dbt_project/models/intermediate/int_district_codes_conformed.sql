{{ config(materialized='table') }}
{#-
  Every GSS code a department may record -> the current district (of the 361) it is conformed to.

  Rules, in the order they apply:
    current         the code is a current district's own GSS code
    former_code     the code is one a current authority used before a recode (`former-gss-codes`)
    successor       an abolished authority: follow `replaced-by` (three-letter codes) until a current authority is
                    reached; chains are followed (Taunton Deane -> Somerset West and Taunton -> Somerset)
    split_larger_successor
                    a county split in two (`replaced-by` lists two codes): the successor with the larger 2020
                    population takes the whole code (Cumbria -> Cumberland, Northamptonshire -> West
                    Northamptonshire); the audit counts how many rows this rule assigned
    not_a_district  the code resolves to a current authority that is not a district (a county council, a combined
                    authority): not conformable, excluded and counted
    no_successor    abolished with no named successor: not conformable, excluded and counted
  Codes absent from the register are `unknown_code` in the person-level models (excluded and counted).
  The walk is a fixed number of joins (var trust_succession_max_hops) rather than a recursive CTE, so the same SQL
  runs on Spark; assert_district_successions_complete fails if a walk stops short.
-#}
{%- set max_hops = var('trust_succession_max_hops', 4) | int -%}
with

authorities as (

    select * from {{ ref('stg_reference__local_authorities') }}

),

successors as (

    select
        register_code,
        nullif({{ trust_split_part('replaced_by', "','", 1) }}, '') as successor_1,
        nullif({{ trust_split_part('replaced_by', "','", 2) }}, '') as successor_2
    from authorities
    where not is_current and replaced_by is not null

),

next_authority as (

    {#- the next step of each abolished authority's succession, with the split rule applied -#}
    select
        s.register_code,
        case
            when s.successor_2 is null then s.successor_1
            when coalesce(second.population_2020, 0) > coalesce(first.population_2020, 0) then s.successor_2
            when coalesce(second.population_2020, 0) = coalesce(first.population_2020, 0)
                and s.successor_2 < s.successor_1 then s.successor_2
            else s.successor_1
        end as next_register_code,
        s.successor_2 is not null as is_split
    from successors as s
    left join authorities as first
        on s.successor_1 = first.register_code
    left join authorities as second
        on s.successor_2 = second.register_code

),

walk_0 as (

    select
        register_code as start_register_code,
        register_code,
        0 as succession_hops,
        false as used_split_rule
    from authorities

),
{% for hop in range(1, max_hops + 1) %}
walk_{{ hop }} as (

    select
        w.start_register_code,
        coalesce(n.next_register_code, w.register_code) as register_code,
        w.succession_hops + case when n.next_register_code is null then 0 else 1 end as succession_hops,
        w.used_split_rule or coalesce(n.is_split, false) as used_split_rule
    from walk_{{ hop - 1 }} as w
    left join next_authority as n
        on w.register_code = n.register_code

),
{% endfor %}
resolved as (

    select
        w.start_register_code,
        w.succession_hops,
        w.used_split_rule,
        target.register_code,
        target.gss_code as local_authority_code,
        target.local_authority_name,
        target.region,
        target.is_district,
        target.is_current
    from walk_{{ max_hops }} as w
    inner join authorities as target
        on w.register_code = target.register_code

),

own_codes as (

    select
        a.gss_code as district_code,
        r.*,
        case
            when not r.is_current then 'no_successor'
            when not r.is_district then 'not_a_district'
            when r.used_split_rule then 'split_larger_successor'
            when r.succession_hops > 0 then 'successor'
            else 'current'
        end as conformance_rule,
        0 as code_priority
    from authorities as a
    inner join resolved as r
        on a.register_code = r.start_register_code
    where a.gss_code is not null

),

former_codes as (

    {#- a recoded authority keeps its identity: each former code maps to wherever the authority resolves -#}
    {%- for part in [1, 2, 3] %}
    select
        nullif({{ trust_split_part('a.former_gss_codes', "','", part) }}, '') as district_code,
        r.*,
        case
            when not r.is_current then 'no_successor'
            when not r.is_district then 'not_a_district'
            else 'former_code'
        end as conformance_rule,
        1 as code_priority
    from authorities as a
    inner join resolved as r
        on a.register_code = r.start_register_code
    where a.former_gss_codes is not null
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

candidates as (

    select * from own_codes
    union all
    select * from former_codes where district_code is not null

),

ranked as (

    {#- a code that is some authority's own GSS code wins over the same code listed as another's former code -#}
    select
        *,
        row_number() over (
            partition by district_code
            order by code_priority, case when is_district then 0 else 1 end, start_register_code
        ) as code_rank
    from candidates

),

final as (

    select
        district_code,
        case when conformance_rule in ('no_successor', 'not_a_district') then null
            else local_authority_code end as local_authority_code,
        case when conformance_rule in ('no_successor', 'not_a_district') then null
            else local_authority_name end as local_authority_name,
        case when conformance_rule in ('no_successor', 'not_a_district') then null
            else region end as region,
        conformance_rule,
        start_register_code as recorded_register_code,
        register_code as resolved_register_code,
        succession_hops,
        is_current as resolved_is_current
    from ranked
    where code_rank = 1

)

select * from final
