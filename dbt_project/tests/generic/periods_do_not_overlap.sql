{#- The rows of one group (the columns `partition_by`; with `levels`, only the rows of those levels)
    hold on different days: no two of their validity periods share a day. E.g. a Baublock belongs
    to one nested unit at any day, whatever the level of that unit. Returns the rows that overlap
    a later one, and the start days two rows share. -#}
{% test periods_do_not_overlap(model, partition_by, levels=none) %}
{%- set keys = partition_by | join(', ') %}

with rows_ as (
    select {{ keys }}, valid_from, valid_to
    from {{ model }}
    {%- if levels %}
    where level in ({{ sql_list(levels) }})
    {%- endif %}
)

select {% for k in partition_by %}a.{{ k }}, {% endfor %}a.valid_from, a.valid_to
from rows_ as a
inner join rows_ as b
    on {% for k in partition_by %}a.{{ k }} = b.{{ k }} and {% endfor %}a.valid_from < b.valid_from
    and coalesce(a.valid_to, {{ open_end() }}) >= b.valid_from
union all
select {{ keys }}, valid_from, max(valid_to) as valid_to
from rows_
group by {{ keys }}, valid_from
having count(*) > 1
{% endtest %}
