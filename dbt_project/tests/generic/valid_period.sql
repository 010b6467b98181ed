{#- valid_from is set and never after valid_to. -#}
{% test valid_period(model, from_column='valid_from', to_column='valid_to') %}
select *
from {{ model }}
where {{ from_column }} is null
   or ({{ to_column }} is not null and {{ to_column }} < {{ from_column }})
{% endtest %}
