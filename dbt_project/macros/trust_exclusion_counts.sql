{#-
  SQL fragments for the audit model conformance_exclusions: each yields rows of
  (month, source_key, row_basis, reason, recorded_code, is_excluded, affected_rows) for the built months.
-#}

{% macro trust_raw_row_exclusions(staging_model, source_key, basis_column, columns) -%}
  {#- Rows without a person and extra copies of exact duplicate rows, by the month of `basis_column`. -#}
    select
        {{ trust_month_of(basis_column) }} as month,
        '{{ source_key }}' as source_key,
        '{{ basis_column }}' as row_basis,
        'null_person_id' as reason,
        cast(null as {{ dbt.type_string() }}) as recorded_code,
        true as is_excluded,
        count(*) as affected_rows
    from {{ ref(staging_model) }}
    where {{ trust_in_build_months(basis_column) }}
        and person_id is null
    group by {{ trust_month_of(basis_column) }}

    union all

    select
        {{ trust_month_of(basis_column) }} as month,
        '{{ source_key }}' as source_key,
        '{{ basis_column }}' as row_basis,
        'duplicate_row' as reason,
        cast(null as {{ dbt.type_string() }}) as recorded_code,
        true as is_excluded,
        sum(copies - 1) as affected_rows
    from (
        select {{ columns | join(', ') }}, count(*) as copies
        from {{ ref(staging_model) }}
        where {{ trust_in_build_months(basis_column) }}
            and person_id is not null
        group by {{ columns | join(', ') }}
        having count(*) > 1
    ) as duplicated
    group by {{ trust_month_of(basis_column) }}
{%- endmacro %}


{% macro trust_district_exclusions(model, source_key, basis_column, month_expression, code_column,
                                   rule_column, where='1 = 1', basis_label=none) -%}
  {#- Rows whose district did not conform as-is: the rule that conformed them, or why they are excluded. -#}
    select
        {{ month_expression }} as month,
        '{{ source_key }}' as source_key,
        '{{ basis_label or basis_column }}' as row_basis,
        {{ rule_column }} as reason,
        {{ code_column }} as recorded_code,
        {{ rule_column }} not in ('former_code', 'successor', 'split_larger_successor') as is_excluded,
        count(*) as affected_rows
    from {{ ref(model) }}
    where {{ trust_in_build_months(basis_column) }}
        and {{ rule_column }} <> 'current'
        and {{ where }}
    group by {{ month_expression }}, {{ rule_column }}, {{ code_column }}
{%- endmacro %}
