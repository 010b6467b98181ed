{#- Households per Baublock and Stichtag: all, by size, with children and single parents. -#}
with households as (
    select * from {{ ref('int_households') }}
    where block_id is not null
)

select
    block_id,
    stichtag,
    {{ keyed_count('true', 'households') }},
    {{ keyed_count("members = 1", 'households_size_1') }},
    {{ keyed_count("members = 2", 'households_size_2') }},
    {{ keyed_count("members = 3", 'households_size_3') }},
    {{ keyed_count("members = 4", 'households_size_4') }},
    {{ keyed_count("members >= 5", 'households_size_5_plus') }},
    {{ keyed_count("has_children", 'households_with_children') }},
    {{ keyed_count("is_single_parent", 'single_parent_households') }}
from households
group by block_id, stichtag
