{#- The measures the indicators are built from, as the Kennzahlenkatalog defines them
    (catalogue/kennzahlenkatalog.yml, rendered into generated/<deployment>/macros/catalogue.sql). Groups of
    Baublock measures share the intermediate model that computes them and the source whose delivery
    they need (`availability`: the column of int_source_availability). A lagged measure is its own
    group (`lag_years`, `of`); it needs the source delivered that many years before the Stichtag.
    `suppressed` names the column that counts the suppressed input cells behind a measure (BA data);
    `crosswalk` the level a source is delivered on when it exists only aggregated. -#}
{% macro measure_registry() %}
    {% set cat = catalogue_registry() %}
    {% set groups = [] %}
    {% for g in cat.groups %}
        {% do groups.append({'model': g.model, 'topic': g.topic, 'availability': g.topic, 'measures': g.measures,
            'suppressed': g.suppressed, 'crosswalk': g.crosswalk, 'lag_years': none, 'of': none}) %}
    {% endfor %}
    {% for lag in cat.lags %}
        {% do groups.append({'model': none, 'topic': lag.topic, 'availability': lag.topic ~ '_' ~ lag.years ~ 'y_before',
            'measures': [lag.measure], 'suppressed': {}, 'crosswalk': none, 'lag_years': lag.years, 'of': lag.of}) %}
    {% endfor %}
    {{ return(groups) }}
{% endmacro %}

{#- Measures formed per area as a linear combination of others (balances such as births − deaths). -#}
{% macro combined_measures() %}
    {{ return(catalogue_registry().combinations) }}
{% endmacro %}

{#- Every measure of int_area_measures: Baublock, lagged and combined measures. -#}
{% macro all_measures() %}
    {% set out = [] %}
    {% for group in measure_registry() %}{% for m in group.measures %}{% do out.append(m) %}{% endfor %}{% endfor %}
    {% for c in combined_measures() %}{% do out.append(c.measure) %}{% endfor %}
    {{ return(out) }}
{% endmacro %}

{#- The availability columns of int_source_availability: (name, source, years before the Stichtag). -#}
{% macro measure_availabilities() %}
    {% set out = [] %}
    {% set seen = [] %}
    {% for group in measure_registry() %}{% if group.availability not in seen %}
        {% do seen.append(group.availability) %}
        {% do out.append({'name': group.availability, 'topic': group.topic, 'years': group.lag_years or 0}) %}
    {% endif %}{% endfor %}
    {{ return(out) }}
{% endmacro %}

{#- The sources delivered only aggregated on a level: (topic, level). -#}
{% macro crosswalked_sources() %}
    {% set out = [] %}
    {% for group in measure_registry() %}{% if group.crosswalk %}
        {% do out.append({'topic': group.topic, 'level': group.crosswalk}) %}
    {% endif %}{% endfor %}
    {{ return(out) }}
{% endmacro %}

{#- A count of the records meeting `condition`, and the sum of their record keys (the Cell Key
    Method's raw material; record keys come from ingestion, see orchestration/pseudonyms.py). -#}
{% macro keyed_count(condition, name) -%}
    count(case when {{ condition }} then 1 end) as {{ name }},
    {{ key_sum("case when " ~ condition ~ " then _record_key end") }} as {{ name }}__key
{%- endmacro %}

{#- A sum of record keys, as the fractional part of the exact sum (null when there is nothing to
    sum): the Cell Key Method keeps only that part, at every level the keys are summed. Every
    record key is a whole number of 2^-28 in [0, 1) (orchestration/pseudonyms.py RECORD_KEY_HEX;
    hex_fraction below), and so is every key sum, its fractional part. A double holds 53 bits, so
    the sum of up to 2^25 (33 M) such terms is exact at every step, in any order a parallel sum
    takes: the fractional part, and the cell key, do not depend on threads or on the order rows
    were written. (The terms of one sum are the records of one Baublock, or the atoms of one cell:
    far fewer.) Summed as whole numbers instead (a 128-bit integer per row), the same bits took
    about twice as long: 9.6 s against 5.6 s for the 24 key sums of
    int_block_population_measures over 23.7 M persons (Berlin size). -#}
{% macro key_sum(expression) -%}
    (sum({{ expression }}) - floor(sum({{ expression }})))
{%- endmacro %}

{#- A measure's condition (Kennzahlenkatalog) with its dbt vars filled in: `{minor_age_limit}` is
    var('minor_age_limit'). -#}
{% macro catalogue_condition(measure) %}
    {%- set sql = namespace(text=measure.condition) -%}
    {%- for name in measure.vars -%}
        {%- set sql.text = sql.text.replace('{' ~ name ~ '}', var(name) | string) -%}
    {%- endfor -%}
    {{ return(sql.text) }}
{% endmacro %}

{#- The keyed counts of a counting model (the catalogue's `counting_models`), one per measure the
    catalogue assigns to it, in catalogue order: the records of the measure's source (where the
    input has a `source_column`) that meet its condition. Measures with a `formula` are not counts:
    see catalogue_formulas. -#}
{% macro catalogue_counts(model, source_column=none) %}
    {%- set out = [] -%}
    {%- for m in catalogue_registry().model_measures[model] if not m.formula -%}
        {%- set parts = [] -%}
        {%- if source_column %}{% do parts.append(source_column ~ " = '" ~ m.source ~ "'") %}{% endif -%}
        {%- if m.condition %}{% do parts.append(catalogue_condition(m)) %}{% endif -%}
        {%- do out.append(keyed_count(parts | join(' and ') if parts else 'true', m.id)) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}

{#- The measures of a counting model formed from its counts (`formula`): "<formula> as <measure>". -#}
{% macro catalogue_formulas(model) %}
    {%- set out = [] -%}
    {%- for m in catalogue_registry().model_measures[model] if m.formula -%}
        {%- do out.append(m.formula ~ ' as ' ~ m.id) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}

{#- Measures with record keys (the Cell Key Method's raw material): every count of persons,
    households or events, also the lagged ones. -#}
{% macro keyed_measures() %}
    {{ return(catalogue_registry().person_measures) }}
{% endmacro %}

{#- A number in [0, 1) from the first 7 hex digits of a (pseudonymised, i.e. keyed-hash) text:
    records derived from a pseudonym (households) get their key this way. As many bits as
    ingestion's record keys (orchestration/pseudonyms.py RECORD_KEY_HEX): few enough that their sums
    are exact, whatever order a parallel sum takes. -#}
{% macro hex_fraction(expression) -%}
    {{ return(adapter.dispatch('hex_fraction', 'sozialmonitor')(expression)) }}
{%- endmacro %}

{% macro default__hex_fraction(expression) -%}
    cast(cast(conv(substr({{ expression }}, 1, 7), 16, 10) as bigint) as double) / 268435456.0
{%- endmacro %}

{% macro duckdb__hex_fraction(expression) -%}
    cast(cast('0x' || substr({{ expression }}, 1, 7) as ubigint) as double) / 268435456.0
{%- endmacro %}
