{#- Which atoms make up each public area at each Stichtag: the structure an attacker knows from
    the published geometries. -#}
with atoms as (
    select * from {{ ref('disclosure_atoms') }}
),

memberships as (
    select * from {{ ref('int_block_memberships') }}
)

select distinct a.stichtag, m.level, m.area_id, a.atom_id
from atoms as a
inner join memberships as m
    on m.block_id = a.block_id
    and {{ valid_at('m', 'a.stichtag') }}
where m.level in ({% for l in var('public_levels') %}'{{ l }}'{{ ", " if not loop.last }}{% endfor %})
