{#- Atoms of the linked table (see docs block `disclosure_atoms`): per Stichtag, the Baublöcke
    grouped by the tuple of all their public memberships, those valid at the Stichtag and those of
    today's Gebietsstand (on which the harmonised series is published). An atom's value is never
    published; the published areas of every public level, nested or not, on either Gebietsstand,
    are unions of atoms. -#}
{#- Incremental by Stichtag while today's Gebietsstand keeps its Baublöcke, every Stichtag when it
    moved (macros/incremental_stichtage.sql). -#}
{{ config(**stichtag_incremental(on_current_gebietsstand=true)) }}
{%- set levels = var('public_levels') -%}

with memberships as (
    select * from {{ ref('int_block_memberships') }}
    where level in ({{ sql_list(levels) }})
),

stichtage as (
    select * from {{ ref('int_stichtage') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

today as (
    select * from {{ ref('int_current_gebietsstand') }}
),

valid as (
    select s.stichtag, m.block_id, m.level, m.area_id
    from memberships as m
    inner join stichtage as s
        on {{ valid_at('m', 's.stichtag') }}
),

current_ as (
    -- the Baublöcke of the Stichtag, by their unit on today's Gebietsstand
    select v.stichtag, v.block_id, m.level || '@today' as level, m.area_id
    from (select distinct stichtag, block_id from valid) as v
    inner join memberships as m
        on m.block_id = v.block_id
    inner join today as t
        on {{ valid_at('m', 't.current_date') }}
),

signatures as (
    select
        stichtag,
        block_id,
        {{ ordered_list("level || '=' || area_id", "'|'", ['level', 'area_id']) }} as atom_id
    from (
        select * from valid
        union all
        select * from current_
    ) as both_
    group by stichtag, block_id
)

select stichtag, block_id, atom_id from signatures
