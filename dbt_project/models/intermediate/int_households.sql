{#- Households (Haushaltegenerierung of the register) at each Stichtag: members with main
    residence, adults and minors, and the Baublock of the household's address. -#}
{{ config(**stichtag_incremental()) }}
with persons as (
    select * from {{ ref('int_persons_assigned_to_blocks') }}
    where is_resident and {{ stichtag_rebuilt('stichtag') }}
),

households as (
    select
        stichtag,
        household_key,
        {{ hex_fraction('household_key') }} as _record_key,
        -- all members live at one address; min() makes the choice explicit and deterministic
        min(block_id) as block_id,
        count(*) as members,
        count(case when age >= {{ var('minor_age_limit') }} then 1 end) as adults,
        count(case when age < {{ var('minor_age_limit') }} then 1 end) as minors
    from persons
    group by stichtag, household_key
)

select
    *,
    minors > 0 as has_children,
    minors > 0 and adults = 1 as is_single_parent
from households
