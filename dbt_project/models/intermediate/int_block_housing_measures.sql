{#- Housing stock per Baublock, spread from the Stadtplanungsamt's Stadtviertel totals (the
    Gebietsstand valid at the Stichtag) by population: a Baublock gets its share of the residents
    of its Stadtviertel; a Stadtviertel without residents is spread evenly over its Baublöcke.
    Summed over whole Stadtviertel (and every nested level above) this is exact; an area that cuts
    a delivered Stadtviertel (a Sozialraum, today's boundaries of a recut Viertel) gets an estimate,
    flagged `estimated` in the indicator values (macro area_measures). The weight, the residents of
    int_block_population_measures, is the crosswalk's method, not one of this model's measures. -#}
{#- the level the catalogue names as this source's crosswalk -#}
{%- set level = (measure_registry() | selectattr('topic', 'equalto', 'planung_wohnen') | first).crosswalk -%}
with housing as (
    select * from {{ ref('stg_planung__housing') }}
),

memberships as (
    select * from {{ ref('int_block_memberships') }}
    where level = '{{ level }}'
),

population as (
    select block_id, stichtag, residents from {{ ref('int_block_population_measures') }}
),

blocks as (
    select m.block_id, m.area_id, h.stichtag, coalesce(p.residents, 0) as residents
    from housing as h
    inner join memberships as m
        on m.area_id = h.area_id
        and {{ valid_at('m', 'h.stichtag') }}
    left join population as p
        on p.block_id = m.block_id
        and p.stichtag = h.stichtag
),

weights as (
    select
        block_id,
        area_id,
        stichtag,
        case
            when sum(residents) over (partition by area_id, stichtag) > 0
                then cast(residents as double) / sum(residents) over (partition by area_id, stichtag)
            else 1.0 / count(*) over (partition by area_id, stichtag)
        end as weight
    from blocks
)

select
    w.block_id,
    w.stichtag,
    {%- for m in catalogue_registry().model_measures['int_block_housing_measures'] %}
    h.{{ m.column }} * w.weight as {{ m.id }}{{ "," if not loop.last }}
    {%- endfor %}
from weights as w
inner join housing as h
    on h.area_id = w.area_id
    and h.stichtag = w.stichtag
