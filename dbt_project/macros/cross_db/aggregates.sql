{#- Aggregates whose spelling differs between the compute engines the trust supports (DuckDB; Spark SQL). -#}

{% macro trust_median(expression) -%}
  {{ return(adapter.dispatch('trust_median', 'labour_market_trust')(expression)) }}
{%- endmacro %}

{% macro duckdb__trust_median(expression) -%}
  {#- Interpolated 50th percentile (quantile_cont), the definition the products publish. -#}
  median({{ expression }})
{%- endmacro %}

{% macro default__trust_median(expression) -%}
  {#- Spark's percentile is exact and interpolating, so it matches DuckDB's median. -#}
  percentile({{ expression }}, 0.5)
{%- endmacro %}

{% macro trust_ratio(numerator, denominator) -%}
  {#- A rate in [0, 1]; null when the denominator is zero or null. -#}
  {{ dbt.cast(numerator, 'double') }} / nullif({{ dbt.cast(denominator, 'double') }}, 0)
{%- endmacro %}

{% macro trust_same(left, right) -%}
  {#- Null-safe equality for joining on cell columns that may be null (e.g. disability not recorded); both DuckDB and
      Spark SQL spell it this way and can still hash-join on it. -#}
  {{ left }} is not distinct from {{ right }}
{%- endmacro %}
