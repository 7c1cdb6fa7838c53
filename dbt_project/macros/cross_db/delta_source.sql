{#
  Read one department table, in place, at the version this run pinned.

  The pin comes from the run's trust_sources (macros/trust_run_vars.sql) (trust_assets/lib/transform/dbt_args.py::dbt_vars): {"dept/table": {"uri",
  "version", "files", "columns"[, "relation"]}}. On DuckDB a plain table's parquet files are read directly (the
  fast path; the delta extension cannot be loaded by the pinned DuckDB); a table with deletion vectors, column
  mapping or partition columns is read through the pin's relation (trust_assets/lib/sources/delta_scan.py). On Spark the
  Delta table is read by path with time travel, which is the same pinned snapshot.
#}

{% macro delta_source(dept, table) -%}
  {{ return(adapter.dispatch('delta_source', 'labour_market_trust')(dept, table)) }}
{%- endmacro %}


{% macro trust_source_pin(dept, table) -%}
  {#- The pin for dept/table; at parse time (no vars, no data) a placeholder so `dbt parse` always succeeds. -#}
  {%- set key = dept ~ '/' ~ table -%}
  {%- set pins = trust_run_var('trust_sources') -%}
  {%- if not execute -%}
    {{ return({'uri': 'unpinned', 'version': 0, 'files': [], 'columns': {}}) }}
  {%- endif -%}
  {%- if pins is none -%}
    {{ exceptions.raise_compiler_error(
        "var trust_sources is not set: run dbt with TRUST_DBT_RUN_VARS or --vars from trust_assets/lib/transform/dbt_args.py "
        ~ "(dbt_build_args, dbt_vars) to pin the "
        ~ "department sources this run reads") }}
  {%- endif -%}
  {%- if key not in pins -%}
    {{ exceptions.raise_compiler_error(
        "var trust_sources has no pin for " ~ key ~ "; pinned: " ~ (pins.keys() | list | sort | join(', '))) }}
  {%- endif -%}
  {%- set pin = pins[key] -%}
  {%- for required in ['uri', 'version', 'files', 'columns'] -%}
    {%- if required not in pin -%}
      {{ exceptions.raise_compiler_error("pin for " ~ key ~ " lacks '" ~ required ~ "'") }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(pin) }}
{%- endmacro %}


{% macro duckdb__delta_source(dept, table) -%}
  {%- set pin = trust_source_pin(dept, table) -%}
  {%- if not execute -%}
    (select 1 as unpinned)
  {%- elif pin.get('relation') -%}
    {#- Deletion vectors, column mapping or partition columns: the pin's own relation over the same files
        (trust_assets/lib/sources/delta_scan.py::relation_sql). -#}
    ({{ pin['relation'] }})
  {%- elif pin.files | length > 0 -%}
    {#- union_by_name: parquet files of one version may order columns differently (binding is by position otherwise). -#}
    read_parquet([
      {%- for path in pin.files %}
      '{{ path | replace("'", "''") }}'{{ "," if not loop.last }}
      {%- endfor %}
    ], union_by_name = true)
  {%- else -%}
    {%- if pin.columns | length == 0 -%}
      {{ exceptions.raise_compiler_error("pin for " ~ dept ~ "/" ~ table ~ " has no files and no columns") }}
    {%- endif -%}
    {#- A table version with no files (e.g. a department that has not shared any rows yet): typed and empty. -#}
    (select
      {%- for name, data_type in pin.columns.items() %}
      cast(null as {{ data_type }}) as {{ adapter.quote(name) }}{{ "," if not loop.last }}
      {%- endfor %}
    where 1 = 0)
  {%- endif -%}
{%- endmacro %}


{% macro default__delta_source(dept, table) -%}
  {%- set pin = trust_source_pin(dept, table) -%}
  delta.`{{ pin.uri }}` version as of {{ pin.version }}
{%- endmacro %}


{% macro spark__delta_source(dept, table) -%}
  {#- The same pinned snapshot through a catalog name, not delta.`<uri>`: Sail re-parses a stored view's text
      without the backticks around `/` (macros/cross_db/relations.sql, trust_register_existing_tables, registers the
      name at the pin's location when the run starts). -#}
  {%- set pin = trust_source_pin(dept, table) -%}
  {{ trust_spark_source_relation(dept, table) }} version as of {{ pin.version }}
{%- endmacro %}


{% macro trust_spark_source_relation(dept, table) -%}
  {{ target.schema }}.trust_source__{{ dept }}__{{ table }}
{%- endmacro %}
