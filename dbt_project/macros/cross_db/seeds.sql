{#- Loading the reference seeds where dbt's adapters differ. -#}

{% macro trust_spark_literal(value) -%}
  {#- A Spark SQL literal for one CSV cell, cast by the caller: null for an empty cell, otherwise text quoted with
      Spark's backslash escapes ('' is not an escaped quote in Spark SQL: it joins two literals). -#}
  {%- if value is none -%}
    null
  {%- elif value is sameas true or value is sameas false -%}
    {{ 'true' if value else 'false' }}
  {%- else -%}
    '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
  {%- endif -%}
{%- endmacro %}

{% macro spark__load_csv_rows(model, agate_table) -%}
  {#- Replaces dbt-spark's loader for the session method: it binds each value as f"'{value}'" (session.py,
      _fix_binding), so an empty cell is loaded as the text 'None' and "King's Lynn" breaks the statement (tested
      by tests/integration/test_spark_engine.py::test_dbt_spark_still_binds_seed_values_unescaped). Values are
      written as literals here instead, typed by the same casts. -#}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {%- for row in chunk %}
      ({%- for col_name in agate_table.column_names -%}
        {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
        cast({{ trust_spark_literal(row[loop.index0]) }} as {{ type }}){{ "," if not loop.last }}
      {%- endfor -%}){{ "," if not loop.last }}
      {%- endfor %}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(statements[0] if statements else '') }}
{%- endmacro %}
