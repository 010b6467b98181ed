{#- The given columns are a key: none of them is null and their combination is unique, in one scan
    of the model (columns_not_null and unique_combination in one: a gate view is computed anew by
    every scan). Returns the key values that occur more than once or hold a null. -#}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
    {%- for column in columns %}
    or {{ column }} is null
    {%- endfor %}
{% endtest %}
