with households as (
    select * from {{ ref('int_households') }}
    where block_id is not null
)

select
    block_id,
    stichtag,
    count(*) as households,
    count(case when has_children then 1 end) as households_with_children,
    count(case when is_single_parent then 1 end) as single_parent_households
from households
group by block_id, stichtag
