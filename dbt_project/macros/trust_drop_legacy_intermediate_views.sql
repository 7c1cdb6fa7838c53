{% macro trust_drop_legacy_intermediate_views() -%}
  {#- Drop `main.int_*` views left by older runs (intermediate models now live in run_scratch). DuckDB only. -#}
  {%- if target.type == 'duckdb' and execute -%}
    {%- set found = run_query("select table_name from information_schema.tables where table_catalog = '"
                              ~ target.database ~ "' and table_schema = 'main' and table_type = 'VIEW' "
                              ~ "and table_name like 'int\\_%' escape '\\'") -%}
    {%- for row in found.rows -%}
      drop view if exists "{{ target.database }}"."main"."{{ row[0] }}";
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}
