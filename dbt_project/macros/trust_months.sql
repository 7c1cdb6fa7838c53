{#
  The months a run builds, from the run's trust_month_start / trust_month_end (macros/trust_run_vars.sql) ('YYYY-MM-01', inclusive).

  Month arithmetic on the run's bounds happens here, at compile time, so the SQL carries plain date literals:
  DuckDB prunes parquet row groups on `column >= literal and column < literal`, but not on date_trunc(column).
#}

{% macro trust_month_var(name) -%}
  {%- set value = trust_run_var(name) -%}
  {%- if not execute -%}
    {{ return('2000-01-01') }}
  {%- endif -%}
  {%- if value is none -%}
    {{ exceptions.raise_compiler_error(
        "var " ~ name ~ " is not set: run dbt with TRUST_DBT_RUN_VARS or --vars from "
        ~ "trust_assets/lib/transform/dbt_args.py (dbt_build_args, dbt_vars)") }}
  {%- endif -%}
  {%- set text = value | string -%}
  {%- if text | length != 10 or text[4] != '-' or text[7:] != '-01' or not text[:4].isdigit()
        or not text[5:7].isdigit() or (text[5:7] | int) < 1 or (text[5:7] | int) > 12 -%}
    {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a month start 'YYYY-MM-01', got " ~ text) }}
  {%- endif -%}
  {{ return(text) }}
{%- endmacro %}


{% macro trust_add_months(month_text, offset) -%}
  {#- 'YYYY-MM-01' plus offset months, as text. -#}
  {%- set index = (month_text[:4] | int) * 12 + (month_text[5:7] | int) - 1 + offset -%}
  {{ return('%04d-%02d-01' % ((index // 12), (index % 12) + 1)) }}
{%- endmacro %}


{% macro trust_build_months(offset=0) -%}
  {#- Every month the run builds (shifted by offset), as 'YYYY-MM-01' texts. -#}
  {%- set start = trust_month_var('trust_month_start') -%}
  {%- set end = trust_month_var('trust_month_end') -%}
  {%- if end < start -%}
    {{ exceptions.raise_compiler_error("trust_month_end " ~ end ~ " is before trust_month_start " ~ start) }}
  {%- endif -%}
  {%- set months = [] -%}
  {%- set current = namespace(month=start) -%}
  {%- for _ in range(1200) if current.month <= end -%}
    {%- do months.append(trust_add_months(current.month, offset)) -%}
    {%- set current.month = trust_add_months(current.month, 1) -%}
  {%- endfor -%}
  {{ return(months) }}
{%- endmacro %}


{% macro trust_date(text) -%}
  {{ dbt.cast("'" ~ text ~ "'", api.Column.translate_type('date')) }}
{%- endmacro %}


{% macro trust_in_build_months(column, offset=0) -%}
  {#- `column` (a raw date column, so the scan can prune) falls in a built month shifted by offset. -#}
  {%- set months = trust_build_months(offset) -%}
  ({{ column }} >= {{ trust_date(months[0]) }} and {{ column }} < {{ trust_date(trust_add_months(months[-1], 1)) }})
{%- endmacro %}


{% macro trust_follow_up_months() -%}
  {#- Follow-up offsets an outcome cohort reads payroll at (var trust_follow_up_months, from the products registry
      via dbt_args; default [3, 6]). -#}
  {{ return(trust_run_var('trust_follow_up_months', [3, 6])) }}
{%- endmacro %}


{% macro trust_in_read_months(column, follow_ups=false) -%}
  {#- `column` falls in a month the run reads: a built month, or (follow_ups) a cohort's follow-up month. Every
      month read is screened and checked, not only the built ones. -#}
  {%- if follow_ups -%}
  ({{ trust_in_build_months(column) }}
    {%- for offset in trust_follow_up_months() %} or {{ trust_in_build_months(column, offset) }}{% endfor %})
  {%- else -%}
  {{ trust_in_build_months(column) }}
  {%- endif -%}
{%- endmacro %}


{% macro trust_months_spine() -%}
  {#- One row per built month, column `month`: the spine the zero-filled products cross join with. -#}
  {%- for month in trust_build_months() %}
  select {{ trust_date(month) }} as month{{ " union all" if not loop.last }}
  {%- endfor %}
{%- endmacro %}


{% macro trust_month_of(expression) -%}
  {#- The month (a date, first of month) a date falls in. -#}
  {{ dbt.cast(dbt.date_trunc('month', expression), api.Column.translate_type('date')) }}
{%- endmacro %}


{% macro trust_months_after(expression, months) -%}
  {#- The date `months` months after a date (macros/cross_db/dates.sql: the engines spell it differently). -#}
  {{ trust_add_months_sql(expression, months) }}
{%- endmacro %}


{% macro trust_delete_built_months(column) -%}
  {#-
    Pre-hook for the incremental products: delete+insert only replaces months present in the new rows, so a built
    month that now has no rows (an outcome cohort that vanished after a correction) would keep stale rows. Deleting
    every built month first makes a rebuild exact.
  -#}
  {%- if execute and is_incremental() -%}
    delete from {{ this }} where {{ trust_in_build_months(column) }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
