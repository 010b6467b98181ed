{#- Input of the quality gate `reconciliation` (raw ↔ mart), per Stichtag: the register's
    residents against the top level's published residents plus the residents whose address could
    not be assigned, and the rows loaded into raw against the rows in staging. raw_rows counts the
    loaded table itself (the source, not its staging model): that is the point of the check. -#}
{%- set top_level = var('nested_levels')[-1] -%}

with register as (
    select stichtag, count(*) as records
    from {{ ref('stg_register__persons') }}
    where is_resident
    group by stichtag
),

raw_register as (
    select stichtag, count(*) as raw_rows
    from {{ source('melderegister', 'register_persons') }}
    group by stichtag
),

staged_register as (
    select stichtag, count(*) as staged_rows
    from {{ ref('stg_register__persons') }}
    group by stichtag
),

unassigned as (
    select stichtag, count(*) as records
    from {{ ref('int_persons_assigned_to_blocks') }}
    where is_resident and block_id is null
    group by stichtag
),

published as (
    select v.stichtag, v.numerator as records
    from {{ ref('fct_indicator_values') }} as v
    inner join {{ ref('indicator_catalogue') }} as c on v.indicator_id = c.indicator_id
    where v.level = '{{ top_level }}' and c.numerator_measure = 'residents' and c.denominator_measure is null
)

select
    'residents' as quantity,
    r.stichtag,
    rr.raw_rows,
    sr.staged_rows,
    r.records as register_records,
    coalesce(p.records, 0) as published_records,
    coalesce(u.records, 0) as unassigned_records,
    coalesce(p.records, 0) + coalesce(u.records, 0) as published_plus_unassigned
from register as r
full outer join published as p on r.stichtag = p.stichtag
left join unassigned as u on coalesce(r.stichtag, p.stichtag) = u.stichtag
left join raw_register as rr on coalesce(r.stichtag, p.stichtag) = rr.stichtag
left join staged_register as sr on coalesce(r.stichtag, p.stichtag) = sr.stichtag
