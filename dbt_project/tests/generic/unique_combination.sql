{#- The grain of a model: no two rows share these columns (nulls compare equal, as in group by). -#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as rows_in_group
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
