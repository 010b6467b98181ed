with households as (
    select * from {{ ref('int_households') }}
    where block_id is not null
)

select
    block_id,
    stichtag,
    {{ keyed_count('true', 'households') }},
    {{ keyed_count("has_children", 'households_with_children') }},
    {{ keyed_count("is_single_parent", 'single_parent_households') }}
from households
group by block_id, stichtag
