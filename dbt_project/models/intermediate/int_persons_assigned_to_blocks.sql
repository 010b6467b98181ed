{#- Register persons at each Stichtag with the Baublock of their address, assigned through the
    address register valid at that Stichtag. Persons whose address is not in the register keep a
    null block_id: they are counted in fct_address_assignment, never dropped silently. -#}
{{ config(**stichtag_incremental()) }}
with persons as (
    select * from {{ ref('stg_register__persons') }}
    where {{ stichtag_rebuilt('stichtag') }}
),

addresses as (
    select * from {{ ref('stg_geo__addresses') }}
),

assigned as (
    select
        p.stichtag,
        p.person_key,
        p.age,
        p.sex,
        p.is_foreign,
        p.has_migration_background,
        p.household_key,
        p.is_resident,
        p.moved_in_date,
        p._record_key,
        a.address_id,
        a.block_id
    from persons as p
    left join addresses as a
        on {{ same_gemeinde('a', 'p') }}
        and a.street_key = p.street_key
        and a.house_number = p.house_number
        and a.house_number_suffix = p.house_number_suffix
        and {{ valid_at('a', 'p.stichtag') }}
)

select * from assigned
