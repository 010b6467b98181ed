{#- Moves into and out of each Baublock in the reporting year ending at the Stichtag. A move
    within the city counts for a Baublock only when it crosses the Baublock's border; summed over
    any larger unit, moves inside it cancel, so the balance is additive across levels. -#}
with movements as (
    select * from {{ ref('int_movements_assigned_to_blocks') }}
),

inflow as (
    select to_block_id as block_id, stichtag, count(*) as moves_in
    from movements
    where event_type in ('ZUZUG', 'UMZUG')
        and to_block_id is not null
        and (from_block_id is null or from_block_id <> to_block_id)
    group by to_block_id, stichtag
),

outflow as (
    select from_block_id as block_id, stichtag, count(*) as moves_out
    from movements
    where event_type in ('FORTZUG', 'UMZUG')
        and from_block_id is not null
        and (to_block_id is null or to_block_id <> from_block_id)
    group by from_block_id, stichtag
),

births as (
    select to_block_id as block_id, stichtag, count(*) as births
    from movements
    where event_type = 'GEBURT' and to_block_id is not null
    group by to_block_id, stichtag
),

deaths as (
    select from_block_id as block_id, stichtag, count(*) as deaths
    from movements
    where event_type = 'STERBEFALL' and from_block_id is not null
    group by from_block_id, stichtag
),

keys as (
    select block_id, stichtag from inflow
    union
    select block_id, stichtag from outflow
    union
    select block_id, stichtag from births
    union
    select block_id, stichtag from deaths
)

select
    k.block_id,
    k.stichtag,
    coalesce(i.moves_in, 0) as moves_in,
    coalesce(o.moves_out, 0) as moves_out,
    coalesce(i.moves_in, 0) - coalesce(o.moves_out, 0) as migration_balance,
    coalesce(b.births, 0) as births,
    coalesce(d.deaths, 0) as deaths
from keys as k
left join inflow as i on i.block_id = k.block_id and i.stichtag = k.stichtag
left join outflow as o on o.block_id = k.block_id and o.stichtag = k.stichtag
left join births as b on b.block_id = k.block_id and b.stichtag = k.stichtag
left join deaths as d on d.block_id = k.block_id and d.stichtag = k.stichtag
