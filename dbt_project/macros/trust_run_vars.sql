{#
  A run's own values (the pinned sources, the months it builds) reach dbt in the environment variable
  TRUST_DBT_RUN_VARS (JSON, from trust_assets/lib/transform/dbt_args.py::dbt_build_args), not as --vars: dbt
  re-parses the whole project whenever --vars change (4.2 s a run at national scale, docs/benchmarks.md), and every
  run's pins differ. Read only while executing, so parsing never depends on them and a run reuses the previous
  run's partial parse (trust_assets/lib/transform/dbt_state.py). `dbt build --vars '{...}'` (tests, ad-hoc runs) and
  dbt unit tests' `overrides: vars` answer first.
#}

{% macro trust_run_var(name, default=none) -%}
  {#- var(name) when given (--vars, or a dbt unit test's overrides), else the run's TRUST_DBT_RUN_VARS while
      executing, else default. -#}
  {%- set given = var(name, none) -%}
  {%- if given is not none -%}
    {{ return(given) }}
  {%- endif -%}
  {%- if execute -%}
    {%- set from_env = env_var('TRUST_DBT_RUN_VARS', '') -%}
    {%- if from_env -%}
      {%- set run_vars = fromjson(from_env) -%}
      {%- if run_vars is not mapping -%}
        {{ exceptions.raise_compiler_error("TRUST_DBT_RUN_VARS must be a JSON object (trust_assets/lib/transform/"
            ~ "dbt_args.py::dbt_build_args), got " ~ (from_env[:80])) }}
      {%- endif -%}
      {%- if name in run_vars -%}
        {{ return(run_vars[name]) }}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(default) }}
{%- endmacro %}
