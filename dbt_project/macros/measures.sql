{#- The measures per Baublock that indicators are built from: which intermediate model holds them,
    and which column counts the suppressed input cells behind a measure (BA data). The indicator
    catalogue (seeds/indicator_catalogue.csv) names its numerator and denominator among these. -#}
{% macro measure_registry() %}
    {{ return([
        {'model': 'int_block_population_measures', 'topic': 'register_persons', 'measures': [
            'residents', 'residents_minor', 'residents_senior', 'residents_quotient_young',
            'residents_quotient_old', 'residents_quotient_working', 'residents_working_age',
            'residents_below_sgb2_age', 'foreign_nationals'], 'suppressed': {}},
        {'model': 'int_block_household_measures', 'topic': 'register_persons', 'measures': [
            'households', 'households_with_children', 'single_parent_households'], 'suppressed': {}},
        {'model': 'int_block_migration_measures', 'topic': 'register_movements', 'measures': [
            'moves_in', 'moves_out', 'migration_balance', 'births', 'deaths'], 'suppressed': {}},
        {'model': 'int_block_transfer_measures', 'topic': 'jobcenter_sgb2', 'measures': [
            'sgb2_recipients', 'sgb2_non_employable'], 'suppressed': {}},
        {'model': 'int_block_transfer_measures', 'topic': 'sozialamt_sgb12', 'measures': [
            'sgb12_gsiae_recipients', 'sgb12_hlu_recipients'], 'suppressed': {}},
        {'model': 'int_block_transfer_measures', 'topic': 'wohngeld', 'measures': [
            'wohngeld_households'], 'suppressed': {}},
        {'model': 'int_block_labour_market_measures', 'topic': 'ba_labour_market', 'measures': [
            'unemployed', 'long_term_unemployed', 'employees_svb'], 'suppressed': {
            'unemployed': 'unemployed_suppressed_cells',
            'long_term_unemployed': 'long_term_unemployed_suppressed_cells',
            'employees_svb': 'employees_svb_suppressed_cells'}},
    ]) }}
{% endmacro %}

{% macro all_measures() %}
    {% set out = [] %}
    {% for group in measure_registry() %}{% for m in group.measures %}{% do out.append(m) %}{% endfor %}{% endfor %}
    {{ return(out) }}
{% endmacro %}

{% macro measure_topics() %}
    {% set out = [] %}
    {% for group in measure_registry() %}{% if group.topic not in out %}{% do out.append(group.topic) %}{% endif %}{% endfor %}
    {{ return(out) }}
{% endmacro %}

{#- A count of the records meeting `condition`, and the sum of their record keys (the Cell Key
    Method's raw material; record keys come from ingestion, see orchestration/pseudonyms.py). -#}
{% macro keyed_count(condition, name) -%}
    count(case when {{ condition }} then 1 end) as {{ name }},
    sum(case when {{ condition }} then _record_key end) as {{ name }}__key
{%- endmacro %}

{#- Measures with record keys: every measure except the movement counts (not published as cells). -#}
{% macro keyed_measures() %}
    {% set out = [] %}
    {% for group in measure_registry() %}{% if group.topic != 'register_movements' %}
        {% for m in group.measures %}{% do out.append(m) %}{% endfor %}
    {% endif %}{% endfor %}
    {{ return(out) }}
{% endmacro %}

{#- A number in [0, 1) from the first 13 hex digits of a (pseudonymised, i.e. keyed-hash) text:
    records derived from a pseudonym (households) get their key this way. DuckDB-specific cast. -#}
{% macro hex_fraction(expression) -%}
    cast(cast('0x' || substr({{ expression }}, 1, 13) as ubigint) as double) / 4503599627370496.0
{%- endmacro %}
