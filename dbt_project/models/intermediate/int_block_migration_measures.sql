{#- Register events of the reporting year ending at the Stichtag, per Baublock. Each event has a
    destination side (the Baublock moved to, born in) and an origin side (moved from, died in); the
    Kennzahlenkatalog's measures of this model count the sides that meet their `condition`:
    - moves in / out cross the Baublock's border; summed over any larger unit, moves inside it
      cancel in the balance (the measure with a `formula`), so it is additive across levels;
    - Zuzüge and Fortzüge cross the city border; Umzüge with their destination in the Baublock are
      the moves within the city;
    - births and deaths. -#}
{{ config(**stichtag_incremental()) }}
with movements as (
    select * from {{ ref('int_movements_assigned_to_blocks') }}
    where {{ stichtag_rebuilt('stichtag') }}
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
        {{ catalogue_counts('int_block_migration_measures') | join(",\n        ") }}
    from sides
    group by block_id, stichtag
)

select
    *,
    {{ catalogue_formulas('int_block_migration_measures') | join(",\n    ") }}
from counted
