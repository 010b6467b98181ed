{#- None of the given columns is null: one scan of the model for all of them (a `not_null` test per
    column scans a view once per column; the gate views are computed anew by every scan). -#}
{% test columns_not_null(model, columns) %}
select *
from {{ model }}
where {% for column in columns %}{{ column }} is null{{ " or " if not loop.last }}{% endfor %}
{% endtest %}
