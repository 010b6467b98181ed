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

{#- The fixed age bands of the catalogue partition the residents; under 15 is the sum of the first four. -#}
{%- set bands = ['residents_age_00_02', 'residents_age_03_05', 'residents_age_06_09', 'residents_age_10_14',
    'residents_age_15_17', 'residents_age_18_24', 'residents_age_25_44', 'residents_age_45_64',
    'residents_age_65_79', 'residents_age_80_plus'] -%}
{%- set partition = [('residents', 1)] -%}
{%- for band in bands %}{% do partition.append((band, -1)) %}{% endfor -%}
{%- do relations.append(('age_bands_partition_residents_fixed', '=', partition)) -%}
{%- do relations.append(('under_15_is_four_bands', '=', [('residents_under_15', 1), ('residents_age_00_02', -1),
    ('residents_age_03_05', -1), ('residents_age_06_09', -1), ('residents_age_10_14', -1)])) -%}
{%- if senior == 65 -%}
{%- do relations.append(('seniors_are_65_79_and_80_plus', '=', [('residents_senior', 1), ('residents_age_65_79', -1),
    ('residents_age_80_plus', -1)])) -%}
{%- endif -%}
{%- if minor == 18 -%}
{%- do relations.append(('minors_are_five_bands', '=', [('residents_minor', 1), ('residents_age_00_02', -1),
    ('residents_age_03_05', -1), ('residents_age_06_09', -1), ('residents_age_10_14', -1), ('residents_age_15_17', -1)])) -%}
{%- endif -%}
{%- for measure in ['residents_under_15', 'residents_60_79', 'migration_background', 'residents_5y_at_address'] -%}
{%- do relations.append((measure ~ '_within_residents', '<=', [(measure, 1), ('residents', -1)])) -%}
{%- endfor -%}
{#- Relations the independent attacker of the test suite derived from the definitions and the
    protection lacked: the working age as bands, the band containing the young-quotient limit, the
    60-79 group between the bands, and the subgroups of the transfer sources. -#}
{%- if var('working_age_min') == 15 and var('working_age_max') == 64 -%}
{%- do relations.append(('working_age_is_four_bands', '=', [('residents_working_age', 1), ('residents_age_15_17', -1),
    ('residents_age_18_24', -1), ('residents_age_25_44', -1), ('residents_age_45_64', -1)])) -%}
{%- endif -%}
{%- if minor == 18 and young > 18 and young <= 25 -%}
{%- do relations.append(('quotient_young_within_minors_and_18_24', '<=', [('residents_quotient_young', 1),
    ('residents_minor', -1), ('residents_age_18_24', -1)])) -%}
{%- endif -%}
{%- do relations.append(('age_65_79_within_60_79', '<=', [('residents_age_65_79', 1), ('residents_60_79', -1)])) -%}
{%- do relations.append(('age_60_79_within_45_64_and_65_79', '<=', [('residents_60_79', 1), ('residents_age_45_64', -1),
    ('residents_age_65_79', -1)])) -%}
{%- do relations.append(('residence_10y_within_5y', '<=', [('residents_10y_at_address', 1), ('residents_5y_at_address', -1)])) -%}
{%- do relations.append(('household_sizes_partition_households', '=', [('households', 1), ('households_size_1', -1),
    ('households_size_2', -1), ('households_size_3', -1), ('households_size_4', -1), ('households_size_5_plus', -1)])) -%}
{#- Subsets within one source (the BA suppresses 1 and 2 per column, so only inequalities hold for its data). -#}
{%- set subsets = [('sgb2_non_employable_under_15', 'sgb2_non_employable'), ('sgb2_non_employable', 'sgb2_recipients'),
    ('sgb12_gsiae_senior_recipients', 'sgb12_gsiae_recipients'), ('sgb2_long_term_recipients', 'sgb2_recipients'),
    ('unemployed_sgb2', 'unemployed'), ('unemployed_sgb3', 'unemployed'), ('long_term_unemployed', 'unemployed'),
    ('low_earners', 'employees_svb'), ('seu_language_support', 'seu_examined'), ('seu_overweight', 'seu_examined'),
    ('seu_motor_findings', 'seu_examined'), ('seu_booklet_presented', 'seu_examined'),
    ('seu_non_german_language', 'seu_examined'), ('seu_booklet_incomplete', 'seu_booklet_presented'),
    ('gymnasium_transitions', 'school_transitions')] -%}
{%- for part, whole in subsets -%}
{%- do relations.append((part ~ '_within_' ~ whole, '<=', [(part, 1), (whole, -1)])) -%}
{%- endfor -%}

{% for name, sense, terms in relations %}{% set outer = loop %}{% for measure, coefficient in terms %}
select '{{ name }}' as relation_id, '{{ sense }}' as sense, '{{ measure }}' as measure, cast({{ coefficient }} as double) as coefficient
{%- if not (outer.last and loop.last) %}
union all
{%- endif %}
{%- endfor %}{% endfor %}
