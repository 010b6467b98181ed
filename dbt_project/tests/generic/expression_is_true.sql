{#- Every row satisfies the SQL expression (rows where it is false or null fail). -#}
{% test expression_is_true(model, expression, where=none, column_name=none) %}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{% if where %}and {{ where }}{% endif %}
{% endtest %}
