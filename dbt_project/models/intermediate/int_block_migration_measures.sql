{#- Register events of the reporting year ending at the Stichtag, per Baublock. Each event has a
    destination side (the Baublock moved to, born in) and an origin side (moved from, died in).
    - moves_in / moves_out cross the Baublock's border; summed over any larger unit, moves inside it
      cancel in the balance, so migration_balance is additive across levels.
    - city_moves_in / city_moves_out cross the city border (Zuzüge, Fortzüge); moves_within_city
      are the Umzüge with their destination in the Baublock (Binnenumzüge).
    - births and deaths. -#}
with movements as (
    select * from {{ ref('int_movements_assigned_to_blocks') }}
),

sides as (
    select
        to_block_id as block_id, stichtag, event_type, 'to' as side,
        from_block_id is null or from_block_id <> to_block_id as crosses_border, _record_key
    from movements
    where to_block_id is not null
    union all
    select
        from_block_id as block_id, stichtag, event_type, 'from' as side,
        to_block_id is null or to_block_id <> from_block_id as crosses_border, _record_key
    from movements
    where from_block_id is not null
),

counted as (
    select
        block_id,
        stichtag,
        count(case when side = 'to' and event_type in ('ZUZUG', 'UMZUG') and crosses_border then 1 end) as moves_in,
        count(case when side = 'from' and event_type in ('FORTZUG', 'UMZUG') and crosses_border then 1 end) as moves_out,
        {{ keyed_count("side = 'to' and event_type = 'GEBURT'", 'births') }},
        {{ keyed_count("side = 'from' and event_type = 'STERBEFALL'", 'deaths') }},
        {{ keyed_count("side = 'to' and event_type = 'ZUZUG'", 'city_moves_in') }},
        {{ keyed_count("side = 'from' and event_type = 'FORTZUG'", 'city_moves_out') }},
        {{ keyed_count("side = 'to' and event_type = 'UMZUG'", 'moves_within_city') }}
    from sides
    group by block_id, stichtag
)

select
    block_id,
    stichtag,
    moves_in,
    moves_out,
    moves_in - moves_out as migration_balance,
    births,
    births__key,
    deaths,
    deaths__key,
    city_moves_in,
    city_moves_in__key,
    city_moves_out,
    city_moves_out__key,
    moves_within_city,
    moves_within_city__key
from counted
