{#- How many records of each address-carrying source could be assigned to a Baublock, per
    Stichtag. Unassigned records are counted here, never dropped silently. A Stichtag's rows are
    counted from that Stichtag's records alone: incremental by Stichtag like its inputs. -#}
{{ config(**stichtag_incremental()) }}
with persons as (
    select 'register_persons' as source, stichtag, block_id from {{ ref('int_persons_assigned_to_blocks') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

movement_sides as (
    select 'register_movements' as source, stichtag, from_block_id as block_id
    from {{ ref('int_movements_assigned_to_blocks') }}
    where has_from_address and {{ stichtag_rebuilt('stichtag') }}
    union all
    select 'register_movements' as source, stichtag, to_block_id as block_id
    from {{ ref('int_movements_assigned_to_blocks') }}
    where has_to_address and {{ stichtag_rebuilt('stichtag') }}
),

transfers as (
    select source, stichtag, block_id from {{ ref('int_transfer_records_assigned_to_blocks') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

children as (
    select source, stichtag, block_id from {{ ref('int_child_records_assigned_to_blocks') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

records as (
    select * from persons
    union all
    select * from movement_sides
    union all
    select * from transfers
    union all
    select * from children
),

final as (
    select
        source,
        stichtag,
        count(*) as records,
        count(block_id) as assigned,
        count(*) - count(block_id) as unassigned,
        cast(count(block_id) as double) * 100 / count(*) as assignment_rate
    from records
    group by source, stichtag
)

select * from final
