{#-
  SQL fragments for the audit model conformance_exclusions: each yields rows of
  (month, source_key, row_basis, reason, recorded_code, is_excluded, affected_rows) for the built months. The
  person-level sources are counted from their screened views by trust_row_rule_counts (macros/trust_row_rules.sql).
-#}

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
