{#-
  Reports every row rule that excluded rows of a built month (warn severity: the rows are left out and counted in
  conformance_exclusions, the run goes on). One row per month and rule with its share and the policy's limit.
-#}
{% test trust_row_rules_excluded(model, screened, basis_column, follow_ups=false) %}

with

shares as (

    {{ trust_row_rule_shares(screened, basis_column, follow_ups) }}

)

select *
from shares
where excluded_rows > 0

{% endtest %}
