{#- The true value of every measure in every atom (internal: it is what suppression hides), and the
    sum of its records' keys (the Cell Key Method's raw material). -#}
{%- set registry = measure_registry() -%}
{%- set keyed = keyed_measures() -%}

with atoms as (
    select * from {{ ref('disclosure_atoms') }}
),

block_measures as (
    select * from {{ ref('int_block_measures') }}
),

summed as (
    select
        a.stichtag,
        a.atom_id,
        {%- for group in registry %}{% for measure in group.measures %}
        coalesce(sum(b.{{ measure }}), 0) as {{ measure }},
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

{% for group in registry %}{% set outer = loop %}{% for measure in group.measures %}
select stichtag, atom_id, '{{ measure }}' as measure, cast({{ measure }} as double) as value,
    {{ measure ~ '__key' if measure in keyed else 'cast(null as double)' }} as key_sum
from summed
{%- if not (outer.last and loop.last) %}
union all
{%- endif %}
{% endfor %}{% endfor %}
