{#- The true value of every measure in every atom (internal: it is what suppression hides), and the
    sum of its records' keys (the Cell Key Method's raw material). A measure with fractions (a
    source spread over the Baublöcke) is rounded to 6 decimals as in int_area_measures: its
    floating-point sum depends on the order of the rows in its last bits. -#}
{#- Incremental by Stichtag while today's Gebietsstand keeps its Baublöcke, every Stichtag when it
    moved (macros/incremental_stichtage.sql); a Stichtag's Baublock measures read
    those of the Stichtage its lagged measures look back to. -#}
{{ config(**stichtag_incremental(catalogue_lag_years(), on_current_gebietsstand=true)) }}
{%- set registry = measure_registry() -%}
{%- set keyed = keyed_measures() -%}
{%- set fractional = catalogue_registry().fractional_measures -%}

with atoms as (
    select * from {{ ref('disclosure_atoms') }}
    where {{ stichtag_rebuilt('stichtag', catalogue_lag_years()) }}
),

block_measures as (
    select * from {{ ref('int_block_measures') }}
    where {{ stichtag_rebuilt('stichtag', catalogue_lag_years()) }}
),

summed as (
    select
        a.stichtag,
        a.atom_id,
        {%- for group in registry %}{% for measure in group.measures %}
        {%- if measure in fractional %}
        coalesce(round(sum(b.{{ measure }}), 6), 0) as {{ measure }},
        {%- else %}
        coalesce(sum(b.{{ measure }}), 0) as {{ measure }},
        {%- endif %}
        {%- if measure in keyed %}
        coalesce({{ key_sum('b.' ~ measure ~ '__key') }}, 0) as {{ measure }}__key,
        {%- endif %}
        {%- endfor %}{% endfor %}
        count(*) as blocks
    from atoms as a
    left join block_measures as b
        on b.block_id = a.block_id
        and b.stichtag = a.stichtag
    group by a.stichtag, a.atom_id
)

{%- set measures = [] %}
{%- set keys = {} %}
{%- for group in registry %}{% for measure in group.measures %}
    {%- do measures.append(measure) %}
    {%- if measure in keyed %}{% do keys.update({measure: 'u.' ~ measure ~ '__key'}) %}{% endif %}
{%- endfor %}{% endfor %}
{#- key_sum: the sum of the records' keys of a keyed measure, null for the others #}
{{ unpivot_measures('summed', ['stichtag', 'atom_id'], measures, [('key_sum', keys)]) }}
