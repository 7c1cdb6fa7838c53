{#- Date arithmetic whose spelling differs between the compute engines (DuckDB; Spark SQL: Sail, Databricks). -#}

{% macro trust_add_months_sql(expression, months) -%}
  {#- SQL: the date `months` months after the date `expression` (month ends clamp, as add_months does). -#}
  {{ return(adapter.dispatch('trust_add_months_sql', 'labour_market_trust')(expression, months)) }}
{%- endmacro %}

{% macro default__trust_add_months_sql(expression, months) -%}
  {{ dbt.cast(dbt.dateadd('month', months, expression), api.Column.translate_type('date')) }}
{%- endmacro %}

{% macro spark__trust_add_months_sql(expression, months) -%}
  {#- add_months directly, not dbt.dateadd: dbt-spark's dateadd goes through to_timestamp(<bigint seconds>),
      which Sail reads as microseconds (a Sail bug: every month lands in 1970; tested by
      tests/integration/test_spark_engine.py::test_sail_still_reads_epoch_seconds_as_microseconds). -#}
  add_months({{ dbt.cast(expression, api.Column.translate_type('date')) }}, {{ months }})
{%- endmacro %}
