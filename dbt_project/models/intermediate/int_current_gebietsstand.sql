{#- Today's Gebietsstand, the one the harmonised series and the indices are drawn on, as one row:
    - current_date: the date whose boundaries count as today's (var current_gebietsstand, by
      default the latest Stichtag, so that a rebuild gives the same result);
    - gebietsstand: the date from which these boundaries hold (the latest change of any public
      membership on or before current_date). It names the Gebietsstand in the release
      ("Gebietsstand 01.01.2022") and keys the disclosure cells of areas drawn on it, so that the
      key stays the same in every release until the boundaries change again. -#}
with memberships as (
    select * from {{ ref('int_block_memberships') }}
    where level in ({{ sql_list(var('public_levels')) }})
),

today as (
    -- quoted: current_date is also the SQL keyword for today (the same name to DuckDB)
    select {{ current_gebietsstand_date() }} as {{ adapter.quote('current_date') }}
)

select
    t.current_date,
    max(m.valid_from) as gebietsstand
from today as t
inner join memberships as m
    on {{ valid_at('m', 't.current_date') }}
group by t.current_date
