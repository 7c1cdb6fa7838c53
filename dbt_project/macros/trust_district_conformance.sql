{% macro trust_district_conformance(code_column, districts_alias) -%}
  {#- Why a recorded district code did (or did not) conform: the mapping's rule, or missing/unknown. -#}
  case
    when {{ code_column }} is null or {{ code_column }} = '' then 'missing_code'
    when {{ districts_alias }}.district_code is null then 'unknown_code'
    else {{ districts_alias }}.conformance_rule
  end
{%- endmacro %}
