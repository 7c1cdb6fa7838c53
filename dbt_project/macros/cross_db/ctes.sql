{#- How a common table expression is evaluated, where the engines differ (DuckDB; Spark SQL). -#}

{% macro trust_inlined() -%}
  {#- Written between `name as` and the CTE's parenthesis: evaluate the CTE where each reference reads it, as a view
      would, instead of storing its result. DuckDB 2 materialises every CTE referenced more than once; for a
      person-level CTE (30 M PAYE rows a month at national scale) that stored copy spilled past every cap tried
      under TRUST_MEMORY_LIMIT=6GiB, while reading the rows once per reference streams in ~3.5 GiB. -#}
  {{ return(adapter.dispatch('trust_inlined', 'labour_market_trust')()) }}
{%- endmacro %}

{% macro duckdb__trust_inlined() -%}
  not materialized
{%- endmacro %}

{% macro default__trust_inlined() -%}
  {#- Spark SQL inlines CTEs (and has no syntax to ask). -#}
{%- endmacro %}
