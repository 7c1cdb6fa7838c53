{#
  CTEs that turn person x employer pay rows into one pay statistic per cell plus its disclosure support columns.

  `rows_cte` has the cell columns, person_id, employer_id and pay_gbp (one row per employment record). Only
  records with pay_gbp > 0 are employments that count: a person contributes to a cell when they have one there
  (in work), their pay is the sum of those records, and an employer contributes through them. (A zero or
  negative record would otherwise add an employer that pays nothing, inflating the employer count disclosure
  control relies on.) The sdc_<stat>_* columns are never published: contributing people and employers, the
  cell's total pay, and the pay totals of its two largest employers (for dominance rules). The last CTE emitted
  is named `<stat>_by_cell`.
#}
{% macro trust_pay_statistics(rows_cte, cells, stat) -%}
{%- set cell_list = cells | join(', ') -%}
{{ stat }}_contributing_rows as (
    select
        {{ cell_list }},
        person_id,
        employer_id,
        pay_gbp
    from {{ rows_cte }}
    where person_id is not null
        and pay_gbp > 0
),

{{ stat }}_people as (
    select
        {{ cell_list }},
        person_id,
        sum(pay_gbp) as pay_gbp
    from {{ stat }}_contributing_rows
    group by {{ cell_list }}, person_id
),

{{ stat }}_employers as (
    select
        {{ cell_list }},
        employer_id,
        sum(pay_gbp) as pay_gbp
    from {{ stat }}_contributing_rows
    where employer_id is not null
    group by {{ cell_list }}, employer_id
),

{{ stat }}_employers_ranked as (
    select
        {{ cell_list }},
        employer_id,
        pay_gbp,
        row_number() over (partition by {{ cell_list }} order by pay_gbp desc, employer_id) as pay_rank
    from {{ stat }}_employers
),

{{ stat }}_employer_summary as (
    select
        {{ cell_list }},
        count(*) as employers,
        max(case when pay_rank = 1 then pay_gbp end) as top1,
        max(case when pay_rank = 2 then pay_gbp end) as top2
    from {{ stat }}_employers_ranked
    group by {{ cell_list }}
),

{{ stat }}_person_summary as (
    select
        {{ cell_list }},
        count(*) as people,
        {{ trust_median('pay_gbp') }} as median_pay,
        sum(pay_gbp) as total_pay
    from {{ stat }}_people
    group by {{ cell_list }}
),

{{ stat }}_by_cell as (
    select
        {%- for cell in cells %}
        p.{{ cell }},
        {%- endfor %}
        p.median_pay as {{ stat }},
        p.people as sdc_{{ stat }}_people,
        coalesce(e.employers, 0) as sdc_{{ stat }}_employers,
        p.total_pay as sdc_{{ stat }}_total,
        coalesce(e.top1, 0) as sdc_{{ stat }}_top1,
        coalesce(e.top2, 0) as sdc_{{ stat }}_top2
    from {{ stat }}_person_summary as p
    left join {{ stat }}_employer_summary as e
        on {% for cell in cells %}{{ trust_same('p.' ~ cell, 'e.' ~ cell) }}{{ " and " if not loop.last }}{% endfor %}
)
{%- endmacro %}


{% macro trust_sdc_columns(stat, source_alias, zero_fill=true) -%}
  {#- The hidden sdc_<stat>_* columns from `<source_alias>` (a left-joined <stat>_by_cell), zero-filled or not. -#}
  {%- for suffix in ['people', 'employers', 'total', 'top1', 'top2'] %}
  {%- if zero_fill %}
  coalesce({{ source_alias }}.sdc_{{ stat }}_{{ suffix }}, 0) as sdc_{{ stat }}_{{ suffix }}{{ "," if not loop.last }}
  {%- else %}
  {{ source_alias }}.sdc_{{ stat }}_{{ suffix }} as sdc_{{ stat }}_{{ suffix }}{{ "," if not loop.last }}
  {%- endif %}
  {%- endfor %}
{%- endmacro %}
