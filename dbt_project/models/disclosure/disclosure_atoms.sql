{#- Atoms of the linked table (see docs block `disclosure_atoms`): per Stichtag, the Baublöcke
    grouped by the tuple of all their public memberships. An atom's value is never published; the
    published areas of every public level, nested or not, are unions of atoms. -#}
{%- set levels = var('public_levels') -%}

with memberships as (
    select * from {{ ref('int_block_memberships') }}
    where level in ({% for l in levels %}'{{ l }}'{{ ", " if not loop.last }}{% endfor %})
),

stichtage as (
    select * from {{ ref('int_stichtage') }}
),

valid as (
    select s.stichtag, m.block_id, m.level, m.area_id
    from memberships as m
    inner join stichtage as s
        on {{ valid_at('m', 's.stichtag') }}
),

signatures as (
    select
        stichtag,
        block_id,
        {{ listagg("level || '=' || area_id", "'|'", "order by level") }} as atom_id
    from valid
    group by stichtag, block_id
)

select stichtag, block_id, atom_id from signatures
