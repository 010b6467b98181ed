{#- Register movements with the Baublock moved from and the Baublock moved to, each through the
    address register valid at the event date. Moves from or to outside the city have no address
    on that side; an address that is not in the register gives a null block and counts as
    unassigned in fct_address_assignment. -#}
{{ config(**stichtag_incremental()) }}
with movements as (
    select * from {{ ref('stg_register__movements') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

addresses as (
    select * from {{ ref('stg_geo__addresses') }}
),

assigned as (
    select
        m.stichtag,
        m.person_key,
        m.event_type,
        m.event_date,
        m.from_street_key is not null as has_from_address,
        m.to_street_key is not null as has_to_address,
        f.block_id as from_block_id,
        t.block_id as to_block_id,
        m._record_key,
        m._source_line
    from movements as m
    left join addresses as f
        on {{ same_gemeinde('f', 'm') }}
        and f.street_key = m.from_street_key
        and f.house_number = m.from_house_number
        and f.house_number_suffix = m.from_house_number_suffix
        and {{ valid_at('f', 'm.event_date') }}
    left join addresses as t
        on {{ same_gemeinde('t', 'm') }}
        and t.street_key = m.to_street_key
        and t.house_number = m.to_house_number
        and t.house_number_suffix = m.to_house_number_suffix
        and {{ valid_at('t', 'm.event_date') }}
)

select * from assigned
