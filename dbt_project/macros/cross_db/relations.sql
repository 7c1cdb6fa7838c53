{#- How models are stored where the engines differ (DuckDB's warehouse file; Spark's Delta tables). -#}

{% macro trust_reference_materialization() -%}
  {#- Staging over the reference seeds. A view on DuckDB. A table on Spark: on Sail a view selecting a hyphenated
      column (the mySociety register's `local-authority-code`, ...) is created but cannot be queried ("attribute
      local is missing from the schema", a Sail bug; tested by
      tests/integration/test_spark_engine.py::test_sail_still_breaks_views_over_quoted_identifiers). -#}
  {{ return(adapter.dispatch('trust_reference_materialization', 'labour_market_trust')()) }}
{%- endmacro %}

{% macro default__trust_reference_materialization() -%}
  {{ return('view') }}
{%- endmacro %}

{% macro spark__trust_reference_materialization() -%}
  {{ return('table') }}
{%- endmacro %}


{% macro trust_register_existing_tables() -%}
  {#- on-run-start: make the tables earlier runs left visible to this run, so incremental models extend them. -#}
  {{ return(adapter.dispatch('trust_register_existing_tables', 'labour_market_trust')()) }}
{%- endmacro %}

{% macro default__trust_register_existing_tables() -%}
  {#- DuckDB: the warehouse file is the catalog; nothing to register. -#}
  select 1
{%- endmacro %}

{% macro spark__trust_register_existing_tables() -%}
  {#- Spark Connect on Sail keeps its catalog in memory per session and each dbt run is a new session. Registered
      here, by location: the department tables this run pinned (var trust_sources; read in place at the pinned
      version by delta_source.sql in this folder), and the marts' Delta tables earlier runs left (var
      trust_spark_existing: the folders under var trust_spark_marts holding a Delta log -> their columns, from
      trust_assets/lib/transform/engine.py::existing_delta_tables), which are also added to dbt's relation cache
      (filled before this hook runs) so is_incremental() sees them. On a Spark with a persistent catalog
      (Databricks, a Hive metastore) the names exist already and `if not exists` leaves them alone. -#}
  {%- if execute -%}
    {%- do run_query('create schema if not exists ' ~ adapter.quote(target.schema)) -%}
    {%- for key, pin in (trust_run_var('trust_sources', {}) or {}).items() -%}
      {%- set dept, table = key.split('/') -%}
      {%- do run_query('create table if not exists ' ~ trust_spark_source_relation(dept, table)
            ~ ' using delta location ' ~ trust_spark_string(pin.uri)) -%}
    {%- endfor -%}
    {%- set existing = var('trust_spark_existing', {}) -%}
    {%- for node in graph.nodes.values()
          if node.resource_type == 'model' and node.config.materialized == 'incremental'
          and node.alias in existing -%}
      {%- set relation = api.Relation.create(schema=node.schema, identifier=node.alias, type='table') -%}
      {%- do run_query('create table if not exists ' ~ relation ~ ' (' ~ existing[node.alias] ~ ') using delta location '
            ~ trust_spark_string(var('trust_spark_marts') ~ '/' ~ node.alias)) -%}
      {%- do adapter.cache_added(relation) -%}
    {%- endfor -%}
  {%- endif -%}
  select 1
{%- endmacro %}


{% macro trust_spark_string(text) -%}
  {#- A Spark SQL string literal (backslash escapes). -#}
  '{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}


{% macro spark__create_table_as(temporary, relation, compiled_code, language='sql') -%}
  {#- dbt-spark's create_table_as (every Spark table, and the temporary view an incremental run inserts from), with
      the query behind an always-true filter on rand(). The workaround for a Sail bug (0.7.2, local-cluster and
      cluster modes): Sail runs a Delta commit on the driver, together with everything under it down to the first
      shuffle, and the driver's session has no DataFusion built-in functions, so a write whose query has a single
      partition (a small table: the reference seeds, a month's few rows) fails with "ExtendedScalarUdf: no UDF found
      for upper" (lower, btrim, replace, ...). The filter is one Sail cannot fold away, and it makes DataFusion
      repartition the scan, which puts a shuffle, and so the query, before the commit: the query runs on the
      workers. Tested by tests/integration/test_spark_engine.py::test_sail_still_runs_single_partition_writes_on_the_driver
      (fails once Sail runs them). On a Spark without the bug the filter keeps every row and costs a comparison. -#}
  {%- if language == 'sql' -%}
    {%- set compiled_code = trust_spark_query_on_workers(compiled_code) -%}
  {%- endif -%}
  {{ return(dbt.spark__create_table_as(temporary, relation, compiled_code, language)) }}
{%- endmacro %}


{% macro trust_spark_query_on_workers(sql) -%}
  {#- ``sql`` behind a filter that keeps every row (rand() is in [0, 1)); see spark__create_table_as above. -#}
  {{ return('select * from (\n' ~ sql ~ '\n) as trust_on_workers where rand() >= 0') }}
{%- endmacro %}
