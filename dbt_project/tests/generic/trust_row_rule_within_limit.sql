{#-
  Blocks the run when a source row rule excluded more of a built month's rows than the policy allows
  (var trust_row_rules; see macros/trust_row_rules.sql). One failing row per month over the limit; severity error.
  `model` is the staging model the check is shown on; `screened` the int_*_screened view that classified its rows.
-#}
{% test trust_row_rule_within_limit(model, screened, rule, basis_column, follow_ups=false) %}

{%- do trust_row_rule_limit(rule) -%}
with

shares as (

    {{ trust_row_rule_shares(screened, basis_column, follow_ups) }}

)

select *
from shares
where rule = '{{ rule }}'
    and blocks

{% endtest %}
