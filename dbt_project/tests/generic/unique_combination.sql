{#- The combination of the given columns is unique (dbt-utils' test, written here because the dbt
    hub cannot be reached from this machine). -#}
{% test unique_combination(model, combination) %}
select {{ combination | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1
{% endtest %}
