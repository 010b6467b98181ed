{#- The true value of every measure in every atom (internal: it is what suppression hides). -#}
{%- set registry = measure_registry() -%}

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
        coalesce(sum(b.{{ measure }}), 0) as {{ measure }}{{ "," if not (loop.last and group == registry[-1]) }}
        {%- endfor %}{% endfor %}
    from atoms as a
    left join block_measures as b
        on b.block_id = a.block_id
        and b.stichtag = a.stichtag
    group by a.stichtag, a.atom_id
)

{% for group in registry %}{% set outer = loop %}{% for measure in group.measures %}
select stichtag, atom_id, '{{ measure }}' as measure, cast({{ measure }} as double) as value from summed
{%- if not (outer.last and loop.last) %}
union all
{%- endif %}
{% endfor %}{% endfor %}
