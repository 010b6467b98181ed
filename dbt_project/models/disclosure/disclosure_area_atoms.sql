{#- Which atoms make up each public area at each Stichtag: the structure an attacker knows from
    the published geometries. Two kinds of area:
    - the units of the Gebietsstand valid at the Stichtag (level as it is: `stadtviertel`);
    - the units of today's Gebietsstand, on which the harmonised series publishes every Stichtag,
      where such a unit is made of other atoms than the unit with the same id at the Stichtag (a
      recut): level `<level>@<gebietsstand>`, e.g. `stadtviertel@2022-01-01`. Where a unit did
      not change, its series value is the very cell of the Stichtag's table and is not repeated.
      The key names the Gebietsstand by the date its boundaries hold from, so it stays the same
      in every release until the boundaries change again. -#}
{#- Incremental by Stichtag while today's Gebietsstand keeps its Baublöcke, every Stichtag when it
    moved (macros/incremental_stichtage.sql). -#}
{{ config(**stichtag_incremental(on_current_gebietsstand=true)) }}
{%- set levels = var('public_levels') -%}

with atoms as (
    select * from {{ ref('disclosure_atoms') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

memberships as (
    select * from {{ ref('int_block_memberships') }}
    where level in ({{ sql_list(levels) }})
),

today as (
    select * from {{ ref('int_current_gebietsstand') }}
),

at_stichtag as (
    select distinct a.stichtag, m.level, m.area_id, a.atom_id
    from atoms as a
    inner join memberships as m
        on m.block_id = a.block_id
        and {{ valid_at('m', 'a.stichtag') }}
),

on_today as (
    select distinct a.stichtag, m.level, m.area_id, a.atom_id
    from atoms as a
    inner join memberships as m
        on m.block_id = a.block_id
    inner join today as t
        on {{ valid_at('m', 't.current_date') }}
),

changed as (
    -- today's units whose atoms differ from those of the unit with the same id at the Stichtag
    select distinct stichtag, level, area_id
    from (
        select t.stichtag, t.level, t.area_id
        from on_today as t
        where not exists (
            select 1 from at_stichtag as s
            where s.stichtag = t.stichtag and s.level = t.level and s.area_id = t.area_id and s.atom_id = t.atom_id
        )
        union all
        select s.stichtag, s.level, s.area_id
        from at_stichtag as s
        where exists (
            select 1 from on_today as t
            where t.stichtag = s.stichtag and t.level = s.level and t.area_id = s.area_id
        )
        and not exists (
            select 1 from on_today as t
            where t.stichtag = s.stichtag and t.level = s.level and t.area_id = s.area_id and t.atom_id = s.atom_id
        )
    ) as d
)

select stichtag, level, area_id, atom_id from at_stichtag
union all
select o.stichtag, o.level || '@' || cast(t.gebietsstand as {{ dbt.type_string() }}) as level, o.area_id, o.atom_id
from on_today as o
inner join changed as c
    on c.stichtag = o.stichtag
    and c.level = o.level
    and c.area_id = o.area_id
cross join today as t
