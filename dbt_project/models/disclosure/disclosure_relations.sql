{#- Relations between measures that hold within every atom, so an attacker can use them:
    sum(coefficient × measure) = 0 (sense '=') or <= 0 (sense '<='). They follow from the measure
    definitions and the age limits in dbt_project.yml, and are written out here so that both the
    secondary suppression and the audit use them. Each entry: (name, sense, [(measure, coefficient)]). -#}
{%- set young = var('quotient_young_limit') -%}
{%- set old = var('quotient_old_limit') -%}
{%- set senior = var('senior_age_limit') -%}
{%- set minor = var('minor_age_limit') -%}
{#- The three age bands of the quotients partition the residents, whatever the limits. -#}
{%- set relations = [('age_bands_partition_residents', '=', [('residents', 1), ('residents_quotient_young', -1),
    ('residents_quotient_working', -1), ('residents_quotient_old', -1)])] -%}
{%- if senior == old -%}
{%- do relations.append(('seniors_are_quotient_old', '=', [('residents_senior', 1), ('residents_quotient_old', -1)])) -%}
{%- elif senior > old -%}
{%- do relations.append(('seniors_within_quotient_old', '<=', [('residents_senior', 1), ('residents_quotient_old', -1)])) -%}
{%- else -%}
{%- do relations.append(('quotient_old_within_seniors', '<=', [('residents_quotient_old', 1), ('residents_senior', -1)])) -%}
{%- endif -%}
{%- if minor == young -%}
{%- do relations.append(('minors_are_quotient_young', '=', [('residents_minor', 1), ('residents_quotient_young', -1)])) -%}
{%- elif minor < young -%}
{%- do relations.append(('minors_within_quotient_young', '<=', [('residents_minor', 1), ('residents_quotient_young', -1)])) -%}
{%- else -%}
{%- do relations.append(('quotient_young_within_minors', '<=', [('residents_quotient_young', 1), ('residents_minor', -1)])) -%}
{%- endif -%}
{%- if var('sgb2_age_limit') == senior -%}
{%- do relations.append(('below_sgb2_age_and_seniors_partition_residents', '=', [('residents_below_sgb2_age', 1),
    ('residents_senior', 1), ('residents', -1)])) -%}
{%- endif -%}
{%- if var('working_age_min') <= young and var('working_age_max') + 1 >= old -%}
{%- do relations.append(('quotient_working_within_working_age', '<=', [('residents_quotient_working', 1), ('residents_working_age', -1)])) -%}
{%- endif -%}
{%- for measure in ['residents_minor', 'residents_senior', 'residents_quotient_young', 'residents_quotient_old',
    'residents_quotient_working', 'residents_working_age', 'residents_below_sgb2_age', 'foreign_nationals'] -%}
{%- do relations.append((measure ~ '_within_residents', '<=', [(measure, 1), ('residents', -1)])) -%}
{%- endfor -%}
{%- do relations.append(('households_with_children_within_households', '<=', [('households_with_children', 1), ('households', -1)])) -%}
{%- do relations.append(('single_parents_within_households_with_children', '<=', [('single_parent_households', 1), ('households_with_children', -1)])) -%}

{% for name, sense, terms in relations %}{% set outer = loop %}{% for measure, coefficient in terms %}
select '{{ name }}' as relation_id, '{{ sense }}' as sense, '{{ measure }}' as measure, cast({{ coefficient }} as double) as coefficient
{%- if not (outer.last and loop.last) %}
union all
{%- endif %}
{%- endfor %}{% endfor %}
