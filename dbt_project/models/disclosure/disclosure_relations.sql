{#- Relations between measures that hold within every atom, so an attacker can use them:
    sum(coefficient × measure) = 0 (sense '=') or <= 0 (sense '<='). They follow from the measure
    definitions and the age limits in dbt_project.yml: the Kennzahlenkatalog declares them
    (`within`, `partitions`) and macro catalogue_relations derives, from the measures' age
    intervals and the vars, which hold. Both the secondary suppression and the audit use them. -#}
{% for relation_id, sense, terms in catalogue_relations() %}{% set outer = loop %}{% for measure, coefficient in terms %}
select '{{ relation_id }}' as relation_id, '{{ sense }}' as sense, '{{ measure }}' as measure, cast({{ coefficient }} as double) as coefficient
{%- if not (outer.last and loop.last) %}
union all
{%- endif %}
{%- endfor %}{% endfor %}
