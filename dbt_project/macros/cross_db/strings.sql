{#- String functions whose spelling differs between the compute engines (DuckDB; Spark SQL: Sail, Databricks). -#}

{% macro trust_split_part(string_text, delimiter_text, part_number) -%}
  {#- The part_number-th (from 1) piece of string_text split on a literal delimiter; '' past the last piece on
      both engines (callers wrap it in nullif(..., '')). -#}
  {{ return(adapter.dispatch('trust_split_part', 'labour_market_trust')(string_text, delimiter_text, part_number)) }}
{%- endmacro %}

{% macro default__trust_split_part(string_text, delimiter_text, part_number) -%}
  {{ dbt.split_part(string_text, delimiter_text, part_number) }}
{%- endmacro %}

{% macro spark__trust_split_part(string_text, delimiter_text, part_number) -%}
  {#- Spark's own split_part (Spark 3.3+, Databricks, Sail), not dbt.split_part: dbt-spark renders that as
      split(...)[n - 1], which fails past the last piece under ANSI mode (INVALID_ARRAY_INDEX), the default of
      Spark 4 and of Databricks SQL; only dbt-spark's session method turns ANSI mode off. -#}
  split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}
