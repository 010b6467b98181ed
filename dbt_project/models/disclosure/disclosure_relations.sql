{#- Relations between measures that hold within every atom, so an attacker can use them:
    sum(coefficient × measure) = 0 (sense '=') or <= 0 (sense '<='). They follow from the measure
    definitions and the age limits in dbt_project.yml: the Kennzahlenkatalog declares them
    (`within`, `partitions`) and macro catalogue_relations derives, from the measures' age
    intervals and the vars, which hold. Both the secondary suppression and the audit use them. -#}
{#- One list of constant rows (a `values` list), not a select per row joined by `union all`:
    Spark plans each of those selects as a partition of its own and wrote ~120 files of one row. -#}
select relations.relation_id, relations.sense, relations.measure, relations.coefficient
from (values
{%- for relation_id, sense, terms in catalogue_relations() %}{% set outer = loop %}{% for measure, coefficient in terms %}
    ('{{ relation_id }}', '{{ sense }}', '{{ measure }}', cast({{ coefficient }} as double)){{ ',' if not (outer.last and loop.last) }}
{%- endfor %}{% endfor %}
) as relations (relation_id, sense, measure, coefficient)
